"""DeepForest's real tree crowns as COCO tiles (lwmm/datasets/deepforest.py, tools/dataset_converters/
deepforest2coco.py) and the detection configs on them (configs/real/*_deepforest.py): tiles cover each
photo at full size, boxes are clipped to their tile, the split is by photo, mmdet's CocoDataset loads the
result, and every config trains one iteration on it and is evaluated by CocoMetric."""
import json
import math
import os
import os.path as osp
from argparse import Namespace

import numpy as np
import pytest

from lwmm.datasets import deepforest as df

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = ('ssdlite_ghostnetv2-scratch_deepforest.py', 'ssdlite_mobilenetv2-scratch_deepforest.py',
           'retinanet_ghostnet-scratch_fpn_deepforest.py', 'retinanet_r18-scratch_fpn_deepforest.py')


def test_tiles_cover_the_image_at_full_size():
    windows = df.tile_windows(1249, 1035, 400)
    assert {(x1 - x0, y1 - y0) for x0, y0, x1, y1 in windows} == {(400, 400)}
    covered = np.zeros((1035, 1249), bool)
    for x0, y0, x1, y1 in windows:
        covered[y0:y1, x0:x1] = True
    assert covered.all() and len(windows) == 4 * 3
    assert df.tile_windows(300, 200, 400) == [(0, 0, 300, 200)]
    with pytest.raises(ValueError, match='overlap=400'):
        df.tile_windows(1000, 1000, 400, overlap=400)


def test_boxes_are_clipped_and_kept_by_visible_share():
    boxes = np.array([[390, 10, 410, 30], [395, 50, 420, 60], [10, 10, 20, 20], [500, 500, 510, 510]], float)
    clipped, keep = df.clip_boxes(boxes, (0, 0, 400, 400), min_visible=0.5)
    assert keep.tolist() == [0, 2]  # half of box 0 is inside; a fifth of box 1; box 3 is outside
    assert clipped.tolist() == [[390, 10, 400, 30], [10, 10, 20, 20]]
    clipped, keep = df.clip_boxes(boxes, (400, 0, 800, 400), min_visible=0.5)
    assert keep.tolist() == [0, 1] and clipped[0].tolist() == [0, 10, 10, 30]


@pytest.fixture(scope='module')
def converted(deepforest, tmp_path_factory):
    dst = str(tmp_path_factory.mktemp('deepforest') / 'data' / 'real' / 'deepforest_coco')
    return dst, df.convert_deepforest(deepforest, dst)


def test_split_is_by_photo_and_boxes_lie_in_their_tiles(converted, deepforest):
    dst, coco = converted
    sources = {split: {image['source'] for image in data['images']} for split, data in coco.items()}
    assert not sources['train'] & sources['val']
    assert sources['val'] == set(df.DEFAULT_VAL_IMAGES) and len(sources['train']) == 2
    for split, data in coco.items():
        sizes = {image['id']: (image['width'], image['height']) for image in data['images']}
        assert data == json.load(open(osp.join(dst, 'annotations', f'instances_{split}.json')))
        for ann in data['annotations']:
            x, y, w, h = ann['bbox']
            width, height = sizes[ann['image_id']]
            assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= width and y + h <= height
        for image in data['images']:
            assert image['file_name'].startswith(split + '/') and osp.isfile(osp.join(dst, image['file_name']))
    # a crown lying wholly inside a tile is in that tile's annotations, unchanged but for the tile's offset
    for name in sources['train'] | sources['val']:
        _, _, boxes, _ = df.read_voc_boxes(osp.join(deepforest, name + '.xml'))
        split = 'val' if name in df.DEFAULT_VAL_IMAGES else 'train'
        tiles = [image for image in coco[split]['images'] if image['source'] == name]
        whole = 0
        for box in boxes:
            for tile in tiles:
                x0, y0 = _offset(tile)
                if x0 <= box[0] and y0 <= box[1] and box[2] <= x0 + tile['width'] and box[3] <= y0 + tile['height']:
                    whole += 1
                    expected = [box[0] - x0, box[1] - y0, box[2] - box[0], box[3] - box[1]]
                    assert expected in [a['bbox'] for a in coco[split]['annotations'] if a['image_id'] == tile['id']]
                    break
        # 400 px tiles without overlap cut some crowns: 482 of 574 lie whole in a tile of the largest photo, 250
        # of 279 in the 1249x1035 one (the cut ones are kept clipped where half of them is inside)
        assert whole >= 0.8 * len(boxes), (name, whole, len(boxes))


def _offset(tile):
    """(x0, y0) of a tile, from its file name <photo>_x<x0>_y<y0>.png."""
    x, y = tile['file_name'][:-len('.png')].rsplit('_', 2)[1:]
    return int(x[1:]), int(y[1:])


def test_tiles_load_in_mmdet_cocodataset(converted):
    from mmdet.datasets import CocoDataset
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')  # mmdet's LoadAnnotations (the configs' scope)
    dst, coco = converted
    dataset = CocoDataset(data_root=dst, ann_file='annotations/instances_train.json', data_prefix=dict(img=''),
                          metainfo=dict(classes=('tree', )), filter_cfg=dict(filter_empty_gt=True),
                          pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)])
    with_boxes = {a['image_id'] for a in coco['train']['annotations']}
    assert len(dataset) == len(with_boxes)
    sample = dataset[0]
    assert sample['img'].shape == (sample['height'], sample['width'], 3)
    assert len(sample['gt_bboxes']) == sum(a['image_id'] == sample['img_id'] for a in coco['train']['annotations'])
    assert (sample['gt_bboxes_labels'] == 0).all()


@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_one_iteration_and_evaluates(config, converted, tmp_path, monkeypatch):
    from lwmm.datasets.checks import check_data_paths
    from lwmm.engine.launch import build_runner, load_config
    dst, _ = converted
    monkeypatch.chdir(osp.dirname(osp.dirname(osp.dirname(dst))))  # the configs read data/real/deepforest_coco
    cfg = load_config(Namespace(config=osp.join(ROOT, 'configs', 'real', config), launcher='none', local_rank=0,
                                work_dir=str(tmp_path), cfg_options=dict(
                                    train_cfg=dict(max_epochs=1, val_interval=1),
                                    default_hooks=dict(checkpoint=dict(interval=-1, save_last=False)))))
    cfg.train_dataloader.dataset.indices = 8  # one batch: one iteration
    cfg.val_dataloader.dataset.indices = 2
    cfg.model.test_cfg.score_thr = 0.0  # random heads score below the configs' thresholds; an empty result has no mAP
    check_data_paths(cfg, ('train_dataloader', 'val_dataloader'))
    runner = build_runner(cfg)
    runner.train()
    hub = runner.message_hub
    assert runner.iter == 1 and math.isfinite(hub.get_scalar('train/loss').current())
    assert math.isfinite(hub.get_scalar('val/coco/bbox_mAP').current())
