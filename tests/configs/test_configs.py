"""Every config under configs/ builds its Runner as tools/train.py does (``load_config``, ``check_data_paths``,
``build_runner``) and trains one iteration, then validates, through it: the config's own dataloaders (samplers,
batch samplers, transforms), optimizer wrapper with its ``paramwise_cfg``, parameter schedulers, hooks and
evaluator, with the weights initialised as ``init_cfg`` says.

What the test changes in each config, and why (``fit_to_fake_data``); nothing else is touched:

- data: the real configs read data/coco, data/imagenet, data/ade/ADEChallengeData2016 and data/VOCdevkit,
  which are not here. The tests run in a folder where a fixture has written two training and two validation
  images in each of those layouts, with annotations in the real formats, and a two-image data/shapes for the
  demo configs. The configs' paths are unchanged: they resolve against that folder.
- dataloaders: batch size 2, no worker processes, RepeatDataset once: one epoch is then one iteration.
- schedule: validation after every epoch (or iteration), and a hook that stops the loop after its first
  iteration; ``max_epochs`` / ``max_iters`` stay, so the parameter schedulers are built for the real length.
  Only where a scheduler begins at a fixed iteration (the GhostNet recipe's StepLR at 3756, written for 1252
  iterations per epoch) and one-iteration epochs would end the run before it, ``max_epochs`` grows past it.
- checkpoints: none written (``interval=-1``, no last or best): ~100 MB per config, and saving and resuming
  are tested end to end in tests/tools/test_train_test.py.
- detection score thresholds at 0: randomly initialised heads score every box below the configs' 0.02 / 0.05,
  and an empty result gives no metric to check.
- image scales: RetinaNet's (1333, 800) at a quarter, and the DeepLabV3 crops (512 real, 256 demo) at 128 with
  every other size of their pipelines in proportion. At full size the step of one DeepLabV3 config (output
  stride 8) costs as much as ten others.
"""
import glob
import json
import math
import os
import os.path as osp
from argparse import Namespace

import numpy as np
import pytest
from mmengine.hooks import Hook

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')

# configs/real/ read the fetched real data (tools/fetch_data.sh); tests/real/ runs each of them on it
CONFIG_FILES = sorted(
    osp.relpath(path, CONFIGS) for path in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    if '_base_' not in path and not osp.relpath(path, CONFIGS).startswith('real' + os.sep))

#: the metric each codebase's evaluator reports (under ``val/`` in the message hub)
METRIC = {'mmdet': 'coco/bbox_mAP', 'mmseg': 'mIoU', 'mmpretrain': 'accuracy/top1'}
#: DeepLabV3's crops (512 real, 256 demo) come down to SEG_CROP; detection sizes of DET_LARGE and more (RetinaNet's
#: 1333 x 800) are divided by DET_SHRINK; SSDLite's 320 stays
SEG_CROP, DET_SHRINK, DET_LARGE = 128, 4, 512


def _write_voc(data, size):
    """data/VOCdevkit/VOC2012 as mmseg's ``pascal_voc12_aug`` reads it: JPEGImages, palette-PNG
    SegmentationClass, grey-level SegmentationClassAug, ImageSets/Segmentation/{train,val,aug}.txt."""
    import cv2
    from mmseg.datasets import PascalVOCDataset
    from PIL import Image

    from lwmm.datasets.shapes import write_ade
    voc = osp.join(data, 'VOCdevkit', 'VOC2012')
    folders = {name: osp.join(voc, name) for name in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                                                      osp.join('ImageSets', 'Segmentation'))}
    for folder in folders.values():
        os.makedirs(folder, exist_ok=True)
    palette = np.array(PascalVOCDataset.METAINFO['palette'], np.uint8).reshape(-1)
    scratch = osp.join(data, '_voc_scenes')
    lists = dict(train=[], aug=[], val=[])
    for split, ade_split, lists_of_split in (('train', 'training', ('train', 'aug')),
                                             ('val', 'validation', ('val', 'val'))):
        ade = write_ade(scratch, split, len(lists_of_split), size, seed=3)
        images = sorted(glob.glob(osp.join(ade, 'images', ade_split, '*.jpg')))
        for index, (image, listing) in enumerate(zip(images, lists_of_split)):
            name = f'2007_{split}_{index:06d}'
            labels = cv2.imread(image.replace('images', 'annotations').replace('.jpg', '.png'), cv2.IMREAD_UNCHANGED)
            labels[0, :] = 255  # VOC marks object boundaries "void" (255, ignored)
            cv2.imwrite(osp.join(folders['JPEGImages'], name + '.jpg'), cv2.imread(image))
            if listing == 'aug':
                Image.fromarray(labels).save(osp.join(folders['SegmentationClassAug'], name + '.png'))
            else:
                mask = Image.fromarray(labels, mode='P')
                mask.putpalette(palette.tolist())
                mask.save(osp.join(folders['SegmentationClass'], name + '.png'))
            lists[listing].append(name)
    for listing, names in lists.items():
        with open(osp.join(folders[osp.join('ImageSets', 'Segmentation')], f'{listing}.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')


@pytest.fixture(scope='module', autouse=True)
def _cheaper_bookkeeping():
    """Two costs of building ~60 Runners in one process that say nothing about a config, removed exactly:

    - mmengine's datasets call ``gc.collect()`` once built; with mmdet, mmseg and mmpretrain imported, each call
      walks every object of the process (about a second on two busy cores). ``gc.freeze()`` leaves what exists
      now (modules, registries) out of those walks; everything made later is collected as before.
    - a Runner formats its config with yapf four times (log, message hub, dump); the same text gives the same
      formatted text, so each distinct text is formatted once.
    """
    import functools
    import gc

    import mmdet.models  # noqa: F401  (the three codebases, imported before the freeze)
    import mmpretrain.models  # noqa: F401
    import mmseg.models  # noqa: F401
    from mmengine.config import config

    import lwmm  # noqa: F401
    gc.collect()
    gc.freeze()
    with pytest.MonkeyPatch.context() as patch:
        format_code = config.FormatCode

        @functools.lru_cache(maxsize=8)
        def formatted(text, style):
            return format_code(text, style_config=dict(style))

        patch.setattr(config, 'FormatCode', lambda text, style_config: formatted(text, tuple(style_config.items())))
        yield
    gc.unfreeze()


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A folder whose data/ holds two training and two validation images in each real layout, and data/shapes."""
    from mmdet.datasets import CocoDataset

    from lwmm.datasets.shapes import DEFAULTS, write_ade, write_coco, write_imagenet
    root = tmp_path_factory.mktemp('workspace')
    data = str(root / 'data')
    for split in ('train', 'val'):
        ann_file = write_coco(data, split, 2, 128, seed=1)
        coco = json.load(open(ann_file))
        # all 80 COCO categories, named as COCO names them (the shapes' ids 1-4 become person, bicycle, car,
        # motorcycle, which COCO numbers 1-4 too): the configs' CocoDataset and CocoMetric look them up by name
        coco['categories'] = [dict(id=index + 1, name=name, supercategory='coco')
                              for index, name in enumerate(CocoDataset.METAINFO['classes'])]
        assert {a['image_id'] for a in coco['annotations']} == {i['id'] for i in coco['images']}  # no empty image
        json.dump(coco, open(ann_file, 'w'))
        write_ade(data, split, 2, 128, seed=1)
        write_imagenet(data, split, 2, 64, seed=1)
    _write_voc(data, 128)
    shapes = osp.join(data, 'shapes')  # make_shapes' layouts and image sizes, fewer images
    for split in ('train', 'val'):
        write_coco(shapes, split, 2, DEFAULTS['coco']['size'], seed=1)
        write_ade(shapes, split, 2, DEFAULTS['ade']['size'], seed=1)
        write_imagenet(shapes, split, 4, DEFAULTS['imagenet']['size'], seed=1)  # one per class folder
    return root


def _datasets(node):
    """Every dataset dict of a dataloader's ``dataset``, wrappers included."""
    if isinstance(node, dict):
        yield node
        for key in ('dataset', 'datasets'):
            yield from _datasets(node.get(key))
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from _datasets(child)


def _shrink(node, factor, smallest=1, keys=('scale', 'crop_size', 'size')):
    """Divide by ``factor`` every (h, w) size under ``keys`` whose sides are all ``smallest`` or more."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, (tuple, list)) and len(value) == 2 \
                    and all(isinstance(v, int) and v >= smallest for v in value):
                node[key] = tuple(v // factor for v in value)
            else:
                _shrink(value, factor, smallest, keys)
    elif isinstance(node, (list, tuple)):
        for child in node:
            _shrink(child, factor, smallest, keys)


def fit_to_fake_data(cfg):
    """The changes the module docstring lists, applied to a config that ``load_config`` has read."""
    loaders = list({id(cfg[name]): cfg[name] for name in ('train_dataloader', 'val_dataloader', 'test_dataloader')
                    if cfg.get(name)}.values())  # test_dataloader may be val_dataloader itself: change it once
    for loader in loaders:
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
        for dataset in _datasets(loader.dataset):
            if dataset.get('type') == 'RepeatDataset':
                dataset['times'] = 1
    if cfg.default_scope == 'mmseg':
        factor, smallest = max(cfg.model.data_preprocessor.size) // SEG_CROP, 1
        _shrink(cfg.model.get('test_cfg'), factor, keys=('crop_size', 'stride'))  # sliding-window inference
    else:
        factor, smallest = (DET_SHRINK, DET_LARGE) if cfg.default_scope == 'mmdet' else (1, 1)
    if factor > 1:
        for loader in loaders:
            _shrink(loader, factor, smallest)
        _shrink(cfg.model.get('data_preprocessor'), factor, smallest)
    cfg.train_cfg.update(val_interval=1)
    schedulers = cfg.get('param_scheduler') or []
    begins = [scheduler.get('begin', 0) for scheduler in ([schedulers] if isinstance(schedulers, dict) else schedulers)
              if not scheduler.get('by_epoch', True) and 'end' not in scheduler]
    if 'max_epochs' in cfg.train_cfg and begins and max(begins) >= cfg.train_cfg.max_epochs:
        cfg.train_cfg.max_epochs = max(begins) + 1
    cfg.train_cfg.pop('val_begin', None)
    cfg.default_hooks.checkpoint.update(interval=-1, save_last=False, save_best=None)
    if cfg.default_scope == 'mmdet':
        cfg.model.test_cfg.score_thr = 0.0


class _StopAfterFirstIteration(Hook):
    """End training after one iteration; the loop still runs its validation for that epoch (or iteration)."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        runner.train_loop.stop_training = True


def write_missing_backbone_checkpoint(cfg):
    """A config may start its backbone from a checkpoint of an earlier run (the transfer demo names one under
    work_dirs/). Where that file is missing it is written from the backbone itself, with random weights under
    the config's ``prefix``, so that the step still goes through the Pretrained loading path."""
    import torch
    from mmengine.registry import MODELS, init_default_scope
    backbone = cfg.model.get('backbone') or {}
    init = backbone.get('init_cfg')
    if not isinstance(init, dict) or init.get('type') != 'Pretrained' or '://' in init.checkpoint \
            or osp.exists(init.checkpoint):
        return
    init_default_scope(cfg.default_scope)
    weights = MODELS.build(dict(backbone, init_cfg=None)).state_dict()
    os.makedirs(osp.dirname(osp.abspath(init.checkpoint)), exist_ok=True)
    torch.save(dict(state_dict={init.get('prefix', '') + key: value for key, value in weights.items()}),
               init.checkpoint)


def _mentions(node, text):
    if isinstance(node, dict):
        return any(_mentions(value, text) for value in node.values())
    if isinstance(node, (list, tuple)):
        return any(_mentions(value, text) for value in node)
    return isinstance(node, str) and text in node


@pytest.mark.parametrize('config', CONFIG_FILES)
def test_config_builds_and_steps(config, workspace, tmp_path, monkeypatch, request):
    from lwmm.datasets.checks import check_data_paths
    from lwmm.engine.launch import build_runner, load_config
    monkeypatch.chdir(workspace)
    cfg = load_config(Namespace(config=osp.join(CONFIGS, config), cfg_options=None, launcher='none', local_rank=0,
                                work_dir=str(tmp_path / 'work')))
    if _mentions(cfg.model, 'timm://'):
        # the real loading path, from an offline Hugging Face cache of randomly initialised timm weights
        request.getfixturevalue('offline_timm_hub')
    fit_to_fake_data(cfg)
    write_missing_backbone_checkpoint(cfg)
    check_data_paths(cfg, ('train_dataloader', 'val_dataloader'))
    runner = build_runner(cfg)
    runner.register_hook(_StopAfterFirstIteration(), priority='LOWEST')
    runner.train()

    hub = runner.message_hub
    assert runner.iter >= 1 and math.isfinite(hub.get_scalar('train/loss').current()), config
    metric = METRIC[cfg.default_scope]
    assert f'val/{metric}' in hub.log_scalars, (config, sorted(hub.log_scalars))
    assert math.isfinite(hub.get_scalar(f'val/{metric}').current())
    paramwise = cfg.optim_wrapper.get('paramwise_cfg')
    if paramwise:  # it must reach the optimizer: its groups then differ in lr or weight decay
        groups = runner.optim_wrapper.optimizer.param_groups
        assert len({(group['lr'], group.get('weight_decay')) for group in groups}) > 1, (config, paramwise)
