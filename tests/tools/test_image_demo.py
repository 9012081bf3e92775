"""tools/demo/image_demo.py: one picture per image for a classifier, a detector and a segmentor."""
import glob
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'cls': 'configs/demo/ghostnet-1.0x_shapes.py',
    'det': 'configs/demo/ssdlite_ghostnetv2_shapes.py',
    'seg': 'configs/demo/deeplabv3_ghostnetv2_shapes.py',
}


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/demo/image_demo.py')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """A random-init checkpoint per task, with class names in its meta as a training run writes them."""
    from lwmm.analysis.inference import _config_metainfo, load_model
    folder = tmp_path_factory.mktemp('checkpoints')
    paths = {}
    for task, config in CONFIGS.items():
        torch.manual_seed(0)
        model, cfg = load_model(osp.join(ROOT, config))
        path = str(folder / f'{task}.pth')
        torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=_config_metainfo(cfg))), path)
        paths[task] = path
    return paths


def images(shapes_root, task):
    folder = {'cls': 'imagenet/val/star', 'det': 'coco/val2017',
              'seg': 'ade/ADEChallengeData2016/images/validation'}[task]
    return sorted(glob.glob(osp.join(shapes_root, folder, '*.jpg')))


@pytest.mark.parametrize('task', sorted(CONFIGS))
def test_draws_prediction_on_the_image(tool, shapes_root, checkpoints, tmp_path, task):
    image = images(shapes_root, task)[0]
    out = str(tmp_path / f'{task}.png')
    extra = ['--score-thr', '0'] if task == 'det' else []
    tool.main([image, osp.join(ROOT, CONFIGS[task]), checkpoints[task], '--out', out, *extra])
    drawn, original = mmcv.imread(out), mmcv.imread(image)
    assert drawn.shape == original.shape
    # labels, boxes (every box drawn at threshold 0) or the blended mask change the picture
    assert np.abs(drawn.astype(int) - original.astype(int)).mean() > 1


def test_detection_threshold_hides_low_scores(tool, shapes_root, checkpoints, tmp_path):
    """At threshold 1 no random-init box qualifies: the picture is the image, apart from PNG vs JPEG decode."""
    image = images(shapes_root, 'det')[0]
    out = str(tmp_path / 'none.png')
    tool.main([image, osp.join(ROOT, CONFIGS['det']), checkpoints['det'], '--out', out, '--score-thr', '1'])
    assert np.abs(mmcv.imread(out).astype(int) - mmcv.imread(image).astype(int)).max() <= 1


def test_folder_in_folder_out(tool, shapes_root, checkpoints, tmp_path):
    folder = osp.dirname(images(shapes_root, 'cls')[0])
    out = tmp_path / 'pictures'
    tool.main([folder, osp.join(ROOT, CONFIGS['cls']), checkpoints['cls'], '--out', str(out), '--topk', '2'])
    expected = sorted(osp.splitext(osp.basename(p))[0] + '.png' for p in images(shapes_root, 'cls'))
    assert sorted(p.name for p in out.iterdir()) == expected


def test_clear_errors(tool, shapes_root, checkpoints, tmp_path):
    image = images(shapes_root, 'cls')[0]
    config = osp.join(ROOT, CONFIGS['cls'])
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        tool.main([str(tmp_path / 'missing.jpg'), config, checkpoints['cls'], '--out', str(tmp_path / 'a.png')])
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        tool.main([image, config, str(tmp_path / 'nothing.pth'), '--out', str(tmp_path / 'a.png')])
    other = tmp_path / 'action.py'
    other.write_text("default_scope = 'mmaction'\nmodel = dict(type='Recognizer2D')\n")
    with pytest.raises(ValueError, match="default_scope='mmaction'"):
        tool.main([image, str(other), checkpoints['cls'], '--out', str(tmp_path / 'a.png')])
    folder = osp.dirname(image)
    with pytest.raises(ValueError, match='must be a folder too'):
        tool.main([folder, config, checkpoints['cls'], '--out', str(tmp_path / 'a.png')])
