import glob
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from lwmm.datasets.shapes import CLASSES, make_shapes


def test_coco_layout_and_annotations(shapes_root):
    ann = json.load(open(osp.join(shapes_root, 'coco', 'annotations', 'instances_train2017.json')))
    assert [c['name'] for c in ann['categories']] == list(CLASSES)
    assert len(ann['images']) == 40 and len(ann['annotations']) >= len(ann['images'])
    image_ids = {img['id'] for img in ann['images']}
    for a in ann['annotations']:
        assert a['image_id'] in image_ids and a['iscrowd'] == 0
        x, y, w, h = a['bbox']
        assert w > 0 and h > 0 and 0 < a['area'] <= w * h + 1e-6
        assert len(a['segmentation'][0]) >= 6
    for img in ann['images']:
        assert osp.isfile(osp.join(shapes_root, 'coco', 'train2017', img['file_name']))


def test_ade_labels_match_images(shapes_root):
    root = osp.join(shapes_root, 'ade', 'ADEChallengeData2016')
    names = sorted(os.listdir(osp.join(root, 'images', 'validation')))
    assert names
    labels = cv2.imread(osp.join(root, 'annotations', 'validation', names[0].replace('.jpg', '.png')), 0)
    image = cv2.imread(osp.join(root, 'images', 'validation', names[0]))
    assert labels.shape == image.shape[:2]
    assert set(np.unique(labels)) <= set(range(len(CLASSES) + 1)) and labels.max() > 0


def test_imagenet_folders(shapes_root):
    root = osp.join(shapes_root, 'imagenet')
    assert set(os.listdir(osp.join(root, 'train'))) <= set(CLASSES)
    lines = open(osp.join(root, 'meta', 'val.txt')).read().split('\n')
    rel, label = lines[0].split()
    assert osp.isfile(osp.join(root, 'val', rel)) and rel.startswith(CLASSES[int(label)])


def test_imagenet_shapes_are_bright_on_dark(shapes_root):
    """The classification layout keeps one contrast polarity, which from-scratch classifiers need to learn
    from 400 images (lwmm/datasets/shapes.py, write_imagenet)."""
    paths = sorted(glob.glob(osp.join(shapes_root, 'imagenet', 'train', '*', '*.jpg')))
    assert paths
    for path in paths:
        grey = cv2.imread(path).mean(2)
        assert np.median(grey) < 110 and np.percentile(grey, 99.5) > 150, path


def test_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / 'a', tmp_path / 'b'
    make_shapes(str(a), tasks=('coco', ), seed=3, scale=0.02)
    make_shapes(str(b), tasks=('coco', ), seed=3, scale=0.02)
    ann = 'coco/annotations/instances_val2017.json'
    assert (a / ann).read_bytes() == (b / ann).read_bytes()
    make_shapes(str(b), tasks=('coco', ), seed=4, scale=0.02)
    assert (a / ann).read_bytes() != (b / ann).read_bytes()


def test_unknown_task():
    with pytest.raises(ValueError, match='unknown tasks'):
        make_shapes('/tmp/never', tasks=('cityscapes', ))
