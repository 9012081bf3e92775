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


def test_detector_prints_each_prediction(tool, shapes_root, checkpoints, tmp_path, capsys):
    """Issue 18 point 8: every box is printed (class, score with %, box), not only the in -> out paths."""
    import re

    from mmengine.config import Config

    from lwmm.analysis.inference import _config_metainfo
    image = images(shapes_root, 'det')[0]
    tool.main([image, osp.join(ROOT, CONFIGS['det']), checkpoints['det'], '--out', str(tmp_path / 'd.png'),
               '--score-thr', '0'])
    printed = capsys.readouterr().out.strip().splitlines()
    header, *lines = printed[[line.startswith(f'{image} -> ') for line in printed].index(True):]
    assert header.endswith(f': {len(lines)} prediction(s)') and lines
    classes = _config_metainfo(Config.fromfile(osp.join(ROOT, CONFIGS['det'])))['classes']
    pattern = re.compile(r'^  (.+)  (\d+\.\d)%  box \((-?\d+), (-?\d+), (-?\d+), (-?\d+)\)$')
    found = [pattern.match(line) for line in lines]
    assert all(found), lines[:3]
    assert {m.group(1) for m in found} <= set(classes)
    scores = [float(m.group(2)) for m in found]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 100 for s in scores)
    assert all(int(m.group(3)) <= int(m.group(5)) and int(m.group(4)) <= int(m.group(6)) for m in found)


def test_describe_threshold_and_other_tasks():
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData, PixelData

    from lwmm.analysis.inference import describe
    sample = DetDataSample(pred_instances=InstanceData(
        bboxes=torch.tensor([[1., 2., 3., 4.], [5., 6., 7., 8.]]), scores=torch.tensor([0.2, 0.75]),
        labels=torch.tensor([1, 0])))
    assert describe(sample, 'mmdet', ('a', 'b'), score_thr=0.5) == ['a  75.0%  box (5, 6, 7, 8)']
    assert describe(sample, 'mmdet', ('a', 'b'), score_thr=0.1)[1] == 'b  20.0%  box (1, 2, 3, 4)'
    seg = type('Sample', (), dict(pred_sem_seg=PixelData(data=torch.tensor([[[0, 1, 1, 1]]]))))()
    assert describe(seg, 'mmseg', ('bg', 'fg')) == ['fg  area 3 px (75.0%)', 'bg  area 1 px (25.0%)']


def test_best_label_is_drawn_last_inside_the_image():
    """Overlapping boxes whose labels fall on the same corner: the best label's pixels are exactly those it
    has when drawn alone (nothing drawn over it), and a box at the image's edge keeps its label inside."""
    from lwmm.analysis.inference import draw_detections
    image = np.full((100, 120, 3), 127, np.uint8)
    boxes = np.array([[10, 10, 60, 60], [10, 10, 80, 80], [12, 12, 50, 50], [100, 90, 120, 100]], float)
    scores, labels = np.array([0.5, 0.9, 0.7, 0.6]), np.array([0, 1, 2, 0])
    classes = ('circle', 'square', 'triangle')
    drawn, label_boxes = draw_detections(image, boxes, scores, labels, classes, score_thr=0.3)
    alone, _ = draw_detections(image, boxes[1:2], scores[1:2], labels[1:2], classes, score_thr=0.3)
    x1, y1, x2, y2 = next(box for score, box in label_boxes if score == 0.9)

    def overlaps(a, b):
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    assert sum(overlaps((x1, y1, x2, y2), other) for score, other in label_boxes if score != 0.9) >= 2  # they meet
    assert np.array_equal(drawn[y1:y2, x1:x2], alone[y1:y2, x1:x2])
    assert (drawn[y1:y2, x1:x2] != 127).any()  # a label is there
    for _, (a, b, c, d) in label_boxes:
        assert 0 <= a < c <= 120 and 0 <= b < d <= 100
