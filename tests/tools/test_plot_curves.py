"""tools/analysis/plot_curves.py on synthetic mmengine scalar logs."""
import json

import mmcv
import numpy as np
import pytest


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis/plot_curves.py')


def write_run(work_dir, timestamp, lines):
    folder = work_dir / timestamp / 'vis_data'
    folder.mkdir(parents=True)
    (folder / 'scalars.json').write_text(''.join(json.dumps(line) + '\n' for line in lines))


def epoch_run(loss_scale, epochs=3, iters_per_epoch=10, interval=5):
    """Training lines every ``interval`` iterations and one validation line per epoch, as mmengine logs."""
    lines = []
    for it in range(interval, epochs * iters_per_epoch + 1, interval):
        lines.append(dict(lr=0.1, loss=loss_scale / it, epoch=(it - 1) // iters_per_epoch + 1, iter=it, step=it))
        if it % iters_per_epoch == 0:
            lines.append({'coco/bbox_mAP': 0.1 * it / iters_per_epoch, 'step': it // iters_per_epoch})
    return lines


@pytest.fixture
def work_dirs(tmp_path):
    first, second = tmp_path / 'run_a', tmp_path / 'run_b'
    write_run(first, '20260101_000000', epoch_run(100.0))
    (first / '20260102_000000').mkdir()  # a later test-only run: no scalars, skipped
    write_run(second, '20260101_000000', epoch_run(1.0))  # older run of run_b, superseded
    write_run(second, '20260103_000000', epoch_run(50.0))
    return first, second


def test_overlays_runs_against_iterations(tool, work_dirs, tmp_path):
    out = str(tmp_path / 'curves.png')
    result = tool.main([str(work_dirs[0]), str(work_dirs[1]), '--keys', 'loss', 'bbox_mAP', '--out', out])
    picture = mmcv.imread(out)
    assert picture.shape[:2] == (2 * 200, 480) and picture.std() > 5  # 6 x 2.5 inches per key at 80 dpi
    xs, ys = result['series'][('run_b', 'loss')]
    assert xs.tolist() == [5, 10, 15, 20, 25, 30] and ys[0] == pytest.approx(50.0 / 5)  # the latest run
    xs, ys = result['series'][('run_a', 'bbox_mAP')]  # validation at the end of each 10-iteration epoch
    assert xs.tolist() == [10, 20, 30] and np.allclose(ys, [0.1, 0.2, 0.3])


def test_epoch_axis_and_a_scalars_file(tool, work_dirs, tmp_path):
    scalars = str(work_dirs[0] / '20260101_000000' / 'vis_data' / 'scalars.json')
    result = tool.main([scalars, '--keys', 'loss', 'coco/bbox_mAP', '--x', 'epoch', '--labels', 'a',
                        '--out', str(tmp_path / 'epoch.png')])
    xs, _ = result['series'][('a', 'loss')]
    assert xs.tolist() == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert result['series'][('a', 'coco/bbox_mAP')][0].tolist() == [1, 2, 3]


def test_unknown_key_lists_the_available_ones(tool, work_dirs, tmp_path):
    with pytest.raises(ValueError, match=r"key 'acc' .*available keys: coco/bbox_mAP, loss, lr"):
        tool.main([str(work_dirs[0]), '--keys', 'acc', '--out', str(tmp_path / 'x.png')])
    with pytest.raises(FileNotFoundError, match='no <timestamp>/vis_data/scalars.json'):
        tool.main([str(tmp_path), '--keys', 'loss', '--out', str(tmp_path / 'x.png')])
