"""Config mistakes are caught before the Runner builds anything, with both numbers and the place to fix.

Each wrong config is a small file in tmp_path inheriting a shipped demo config, as a user would write it.
"""
import os.path as osp
from argparse import Namespace

import pytest
from mmengine.config import Config

from lwmm.engine.config_checks import check_config, check_lwmm_types, check_model_channels

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


def write_config(tmp_path, base: str, body: str) -> str:
    path = tmp_path / 'wrong.py'
    path.write_text(f'_base_ = [{osp.join(CONFIGS, base)!r}]\n{body}\n')
    return str(path)


def load(tmp_path, base, body):
    return Config.fromfile(write_config(tmp_path, base, body))


def assert_message(check, cfg, expected):
    """``check(cfg)`` raises a ValueError whose message holds every text of ``expected``."""
    with pytest.raises(ValueError) as error:
        check(cfg)
    for text in expected:
        assert text in str(error.value), str(error.value)


@pytest.mark.parametrize('base, body, expected', [
    # SSDLite: the neck's in_channels copied from another backbone
    ('demo/ssdlite_ghostnetv2_shapes.py', 'model = dict(neck=dict(in_channels=(96, 960)))',
     ["model.neck.in_channels=(96, 960) does not match the backbone's outputs (112, 960) for "
      'out_indices=(3, 4): set model.neck.in_channels=(112, 960)']),
    # SSDLite: the width changed, the neck not
    ('demo/ssdlite_ghostnetv2_shapes.py', 'model = dict(backbone=dict(widen_factor=1.3))',
     ["model.neck.in_channels=(112, 960) does not match the backbone's outputs (144, 1248)",
      'set model.neck.in_channels=(144, 1248)']),
    # RetinaNet: out_indices changed, FPN's in_channels not
    ('demo/retinanet_ghostnet_fpn_shapes.py', 'model = dict(backbone=dict(out_indices=(2, 3, 4)))',
     ["model.neck.in_channels=(24, 40, 112, 960) does not match the backbone's outputs (40, 112, 960) for "
      'out_indices=(2, 3, 4): set model.neck.in_channels=(40, 112, 960)']),
    # DeepLabV3: the decode head reads the wrong width
    ('demo/deeplabv3_ghostnetv2_shapes.py', 'model = dict(decode_head=dict(in_channels=1280))',
     ["model.decode_head.in_channels=1280 does not match the backbone's outputs (112, 960) for "
      'out_indices=(3, 4) and model.decode_head.in_index=1: set model.decode_head.in_channels=960']),
    # DeepLabV3: the auxiliary head picks an output that is not returned
    ('demo/deeplabv3_ghostnetv2_shapes.py', 'model = dict(auxiliary_head=dict(in_index=2))',
     ['model.auxiliary_head.in_index=2 picks an output the backbone does not return: it returns 2']),
    # classifier: a narrower backbone, the head still at 960
    ('demo/ghostnet-1.0x_shapes.py', 'model = dict(backbone=dict(widen_factor=0.5))',
     ["model.head.in_channels=960 does not match the backbone's outputs (480,) for out_indices=(4,) (the head "
      'reads the last one): set model.head.in_channels=480']),
    # DY-MobileNetV2: a narrower width changes stage 3 (1280 stays)
    ('demo/ssdlite_dy-mobilenetv2_shapes.py', 'model = dict(backbone=dict(widen_factor=0.5))',
     ["does not match the backbone's outputs (48, 1280)"]),
])
def test_channel_mismatch_names_both_numbers_and_the_fix(tmp_path, base, body, expected):
    assert_message(check_model_channels, load(tmp_path, base, body), expected)


def test_matching_changes_pass(tmp_path):
    """A change that keeps the channels (alpha of an Oct-ResNet) is not reported."""
    check_model_channels(load(tmp_path, 'demo/retinanet_oct-resnet50_fpn_shapes.py',
                              'model = dict(backbone=dict(alpha=0.25))'))


@pytest.mark.parametrize('base, body, expected', [
    ('demo/ssdlite_ghostnetv2_shapes.py', "model = dict(backbone=dict(type='GhostNetV2'))",
     ["model.backbone.type='GhostNetV2' is an lwmm model that the mmdet scope cannot see: "
      "write type='lwmm.GhostNetV2'", "custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)"]),
    ('demo/dy-resnet18_shapes.py', "custom_hooks = [dict(type='DynamicConvTemperatureHook')]",
     ["custom_hooks[0].type='DynamicConvTemperatureHook' is an lwmm hook that the mmpretrain scope cannot see",
      "write type='lwmm.DynamicConvTemperatureHook'"]),
])
def test_unprefixed_lwmm_type_says_how_to_name_it(tmp_path, base, body, expected):
    assert_message(check_lwmm_types, load(tmp_path, base, body), expected)


def test_unprefixed_type_in_lwmm_scope_and_codebase_names_pass(tmp_path):
    # _scope_='lwmm' builds in lwmm's registry; 'SingleStageDetector' and 'SSDNeck' are mmdet's own
    check_lwmm_types(load(tmp_path, 'demo/ssdlite_ghostnetv2_shapes.py',
                          "model = dict(backbone=dict(type='GhostNetV2', _scope_='lwmm'))"))


def test_without_the_check_mmengine_says_only_not_in_registry(tmp_path):
    """What a user sees from mmengine alone, which the check replaces."""
    from mmengine.registry import MODELS, DefaultScope
    cfg = load(tmp_path, 'demo/ssdlite_ghostnetv2_shapes.py', "model = dict(backbone=dict(type='GhostNetV2'))")
    with DefaultScope.overwrite_default_scope('mmdet'):  # a context: the scope must not leak into other tests
        with pytest.raises(KeyError, match='GhostNetV2 is not in the mmdet::model registry'):
            MODELS.build(cfg.model)


def test_build_runner_checks_before_building(tmp_path):
    """tools/train.py and tools/test.py build through build_runner: the mistake stops them there."""
    from lwmm.engine.launch import build_runner, load_config
    path = write_config(tmp_path, 'demo/ssdlite_ghostnetv2_shapes.py', 'model = dict(neck=dict(in_channels=(96, 960)))')
    cfg = load_config(Namespace(config=path, cfg_options=None, work_dir=str(tmp_path / 'work'), launcher='none',
                                local_rank=0))
    with pytest.raises(ValueError, match=r'set model.neck.in_channels=\(112, 960\)'):
        build_runner(cfg)
    assert not (tmp_path / 'work').exists()  # nothing was built or written


def test_check_config_accepts_a_shipped_config(tmp_path):
    check_config(Config.fromfile(osp.join(CONFIGS, 'demo', 'deeplabv3_mobilevit-xxs_shapes.py')))
