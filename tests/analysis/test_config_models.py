"""lwmm.analysis.config_models: a config's model, named by path, by its place under configs/ or by codebase."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from lwmm.analysis.config_models import CONFIGS_DIR, build_model_from_config, config_path, load_config

GHOSTNET = 'cls/ghostnet-0.5x_in1k.py'


def test_config_names():
    assert config_path(GHOSTNET) == osp.join(CONFIGS_DIR, GHOSTNET)
    assert config_path(osp.join(CONFIGS_DIR, GHOSTNET)) == osp.join(CONFIGS_DIR, GHOSTNET)
    with pytest.raises(FileNotFoundError, match="'cls/ghostnet-9x_in1k.py' does not exist.*under configs/"):
        config_path('cls/ghostnet-9x_in1k.py')
    assert load_config('mmpretrain::resnet/resnet18_8xb32_in1k.py').model.backbone.depth == 18
    cfg = load_config(GHOSTNET)
    assert load_config(cfg) is cfg and cfg.model.backbone.widen_factor == 0.5
    with pytest.raises(TypeError, match='not dict'):
        load_config(dict(model=None))


def _classifier_cfg(init_cfg=None):
    backbone = dict(type='lwmm.GhostNet', widen_factor=0.5, **(dict(init_cfg=init_cfg) if init_cfg else {}))
    return Config(dict(default_scope='mmpretrain', model=dict(
        type='ImageClassifier', backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=480))))


def test_builds_in_the_configs_scope_and_leaves_the_process_scope():
    """A classifier builds in mmpretrain's scope whatever the process's default scope, which stays as it was."""
    import lwmm  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = build_model_from_config(_classifier_cfg())
        assert DefaultScope.get_current_instance().scope_name == 'mmdet'
    assert type(model).__name__ == 'ImageClassifier' and type(model).__module__.startswith('mmpretrain.')
    assert model.training


def test_named_weights_are_not_kept():
    """Random weights: a backbone's Pretrained init_cfg is dropped from the model, not from the caller's config."""
    pretrained = dict(type='Pretrained', checkpoint='timm://ghostnet_050', prefix='backbone.')
    cfg = _classifier_cfg(pretrained)
    default = build_model_from_config(_classifier_cfg()).backbone.init_cfg
    assert build_model_from_config(cfg).backbone.init_cfg == default  # the backbone's own initialisation
    assert cfg.model.backbone.init_cfg == pretrained
    kept = dict(type='Normal', layer='Conv2d', std=0.1)
    assert build_model_from_config(_classifier_cfg(kept)).backbone.init_cfg == kept


def test_shipped_config_builds_with_its_head():
    model = build_model_from_config(GHOSTNET)
    assert model.backbone.widen_factor == 0.5 and model.head.in_channels == 480
