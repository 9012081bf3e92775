"""tools/analysis/compare_runs.py: the last validation metrics of runs, side by side."""
import json

import pytest


@pytest.fixture(scope='module')
def compare_runs(load_tool):
    return load_tool('tools/analysis/compare_runs.py')


def write_run(work_dir, lines, timestamp='20260101_000000'):
    path = work_dir / timestamp / 'vis_data'
    path.mkdir(parents=True)
    (path / 'scalars.json').write_text(''.join(json.dumps(line) + '\n' for line in lines))


def test_last_validation_of_each_run_side_by_side(compare_runs, tmp_path):
    write_run(tmp_path / 'scratch', [
        dict(loss=3.0, iter=10, epoch=1, step=10),
        {'coco/bbox_mAP': 0.1, 'coco/bbox_mAP_50': 0.2, 'step': 1},
        dict(loss=2.0, iter=20, epoch=2, step=20),
        {'coco/bbox_mAP': 0.4, 'coco/bbox_mAP_50': 0.6, 'step': 2},  # the last evaluation counts
    ])
    write_run(tmp_path / 'transfer', [{'coco/bbox_mAP': 0.5, 'coco/bbox_mAP_50': 0.7, 'step': 2},
                                      dict(loss=1.0, iter=30, epoch=3, step=30)])
    table = compare_runs.main([str(tmp_path / 'scratch'), str(tmp_path / 'transfer'), '--labels', 'A', 'B',
                               '--keys', 'bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75'])
    assert table.splitlines() == ['| metric | A | B |', '|---|---|---|', '| bbox_mAP | 0.400 | 0.500 |',
                                  '| bbox_mAP_50 | 0.600 | 0.700 |', '| bbox_mAP_75 | - | - |']


def test_a_run_without_evaluation_is_an_error(compare_runs, tmp_path):
    write_run(tmp_path / 'run', [dict(loss=3.0, iter=10, epoch=1, step=10)])
    with pytest.raises(ValueError, match='no validation line with any of bbox_mAP.*keys it holds: loss'):
        compare_runs.compare([str(tmp_path / 'run')], ['bbox_mAP'])


def test_labels_must_match_runs(compare_runs, tmp_path):
    with pytest.raises(ValueError, match='labels: 1 given for 2 runs'):
        compare_runs.compare([str(tmp_path), str(tmp_path)], labels=['one'])
