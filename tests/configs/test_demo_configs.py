"""The shapes classification demos take their data, evaluation and recipe from one overlay,
configs/_base_/shapes_cls.py, so a change there reaches every family and none drifts on its own."""
import copy
import glob
import os.path as osp

import pytest
from mmengine.config import Config

CONFIGS = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'configs')
OVERLAY = Config.fromfile(osp.join(CONFIGS, '_base_', 'shapes_cls.py'))
#: the demos built on a classification config (configs/cls/), read from their text so collection stays fast
CLS_DEMOS = sorted(osp.basename(path) for path in glob.glob(osp.join(CONFIGS, 'demo', '*_shapes.py'))
                   if "'../cls/" in open(path).read())


def _without_delete(cfg):
    """``cfg`` as plain data without the merge markers (``_delete_``, ``_scope_``)."""
    cfg = copy.deepcopy(cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg)
    if isinstance(cfg, dict):
        return {k: _without_delete(v) for k, v in cfg.items() if k not in ('_delete_', '_scope_')}
    if isinstance(cfg, (list, tuple)):
        return [_without_delete(v) for v in cfg]
    return cfg


def test_every_classification_family_has_a_demo():
    assert CLS_DEMOS == sorted([
        'dy-mobilenetv2-1.0x_shapes.py', 'dy-resnet18_shapes.py', 'ghostnet-1.0x_shapes.py',
        'ghostnetv2-1.0x_shapes.py', 'mobilevit-xxs_shapes.py', 'oct-mobilenetv2_shapes.py',
        'oct-resnet50-a0.5_shapes.py'
    ])


#: the one family whose demo needs its own lr (MobileViT-XXS: the shared 4e-3 stayed at chance, docs/demos.md)
OWN_LR = {'mobilevit-xxs_shapes.py': 0.001}
#: the MobileNetV2-based demos train the overlay's long schedule (MobileNetV2 itself: 88 % after the shared 3 epochs)
LONG = {'oct-mobilenetv2_shapes.py', 'dy-mobilenetv2-1.0x_shapes.py', 'mobilevit-xxs_shapes.py'}
#: the one demo not at the data's 96 px (MobileViT-XXS: at 96 px its last block sees a 3x3 map, docs/demos.md)
OWN_INPUT = {'mobilevit-xxs_shapes.py': 128}


@pytest.mark.parametrize('name', CLS_DEMOS)
def test_demo_uses_the_shared_recipe(name):
    cfg = Config.fromfile(osp.join(CONFIGS, 'demo', name))
    shared = _without_delete(OVERLAY.shapes_cls_optim_wrapper)
    if name in OWN_LR:
        shared['optimizer']['lr'] = OWN_LR[name]
    assert _without_delete(cfg.optim_wrapper) == shared
    long = name in LONG
    schedule = OVERLAY.shapes_cls_long_param_scheduler if long else OVERLAY.shapes_cls_param_scheduler
    epochs = OVERLAY.shapes_cls_long_max_epochs if long else OVERLAY.shapes_cls_max_epochs
    assert _without_delete(cfg.param_scheduler) == _without_delete(schedule)
    assert schedule[1]['T_max'] == schedule[1]['end'] == epochs
    assert cfg.train_cfg.max_epochs == epochs and cfg.train_cfg.val_interval == epochs
    assert cfg.auto_scale_lr == OVERLAY.shapes_cls_auto_scale_lr
    val_dataset = _without_delete(OVERLAY.shapes_cls_val_dataloader.dataset)
    if name in OWN_INPUT:  # the shared validation images, resized whole
        size = OWN_INPUT[name]
        val_dataset['pipeline'].insert(1, dict(type='Resize', scale=[size, size]))
    assert _without_delete(cfg.val_dataloader.dataset) == val_dataset
    assert _without_delete(cfg.val_evaluator) == _without_delete(OVERLAY.shapes_cls_evaluator)
    head = cfg.model.head
    assert head.num_classes == 4 and cfg.data_preprocessor.num_classes == 4
    assert head.loss.type == 'CrossEntropyLoss', f'{name}: the shared recipe trains without label smoothing'
    assert head.get('dropout_rate', 0.0) == 0.0, f'{name}: the shared recipe trains without dropout'


@pytest.mark.parametrize('name', CLS_DEMOS)
def test_demo_trains_on_flips_only(name):
    cfg = Config.fromfile(osp.join(CONFIGS, 'demo', name))
    dataset = cfg.train_dataloader.dataset
    dataset = dataset.get('dataset', dataset)  # MobileViT's multi-scale wrapper
    types = [t['type'] for t in dataset.pipeline]
    assert 'RandomFlip' in types
    for t in dataset.pipeline:  # MobileViT's batch resize is a crop of the whole image
        inner = t.get('transform', t)
        if inner['type'] == 'RandomResizedCrop':
            assert tuple(inner['crop_ratio_range']) == (1.0, 1.0) and tuple(inner['aspect_ratio_range']) == (1.0, 1.0)


ALL_DEMOS = sorted(osp.basename(path) for path in glob.glob(osp.join(CONFIGS, 'demo', '*.py')))


@pytest.mark.parametrize('name', [n for n in ALL_DEMOS
                                  if 'DynamicConvTemperatureHook' in open(osp.join(CONFIGS, 'demo', n)).read()])
def test_temperature_anneals_in_steps_of_at_most_a_third(name):
    """The paper cools tau 30 -> 1 linearly; an anneal of one step per epoch over one epoch is a jump
    (the shapes DY demos had one: tau 30 for epoch 1, then 1)."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'demo', name))
    hooks = [h for h in cfg.custom_hooks if h['type'].endswith('DynamicConvTemperatureHook')]
    assert len(hooks) == 1
    assert hooks[0]['anneal_length'] >= 3, f'{name}: tau moves in {hooks[0]["anneal_length"]} step(s)'
