"""Config mistakes are caught before the Runner builds anything, with both numbers and the place to fix.

Each wrong config is a small file in tmp_path inheriting a shipped demo config, as a user would write it.
"""
import glob
import os.path as osp
from argparse import Namespace

import pytest
from mmengine.config import Config

from lwmm.engine.config_checks import (check_config, check_frozen_needs_weights, check_lwmm_types,
                                       check_model_channels)

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


# -- freezing needs loaded weights ---------------------------------------------------------------------------
FIX = ("or train from scratch: model.backbone.frozen_stages=-1 and model.backbone.norm_eval=False",
       "model.backbone.init_cfg=dict(type='Pretrained', checkpoint='timm://<model>.<tag>' or a file")


@pytest.mark.parametrize('body, expected', [
    # mmdet's RetinaNet recipe (frozen stem, norm_eval) on random weights: the state issue 13 found
    ('model = dict(backbone=dict(frozen_stages=1, norm_eval=True))',
     ['model.backbone.frozen_stages=1 and model.backbone.norm_eval=True would keep the frozen '
      'stages at their random values and BatchNorm statistics at mean 0 / variance 1', *FIX]),
    ('model = dict(backbone=dict(norm_eval=True))',
     ['model.backbone.frozen_stages=-1 and model.backbone.norm_eval=True would keep BatchNorm statistics', *FIX]),
    ('model = dict(backbone=dict(frozen_stages=0))',
     ['model.backbone.frozen_stages=0 and model.backbone.norm_eval=False would keep the frozen stages at', *FIX]),
    # an init_cfg that initialises without loading is no source of weights
    ("model = dict(backbone=dict(frozen_stages=0, init_cfg=dict(_delete_=True, type='Kaiming', layer='Conv2d')))",
     ['model.backbone.frozen_stages=0', *FIX]),
])
def test_freezing_random_weights_names_both_keys_and_the_fix(tmp_path, body, expected):
    cfg = load(tmp_path, 'demo/retinanet_ghostnet_fpn_shapes.py', body)
    assert_message(check_frozen_needs_weights, cfg, expected)


def test_shipped_recipe_without_its_weights_is_refused(tmp_path):
    """configs/det/retinanet_ghostnet_fpn_coco.py freezes on ImageNet weights: without them, refused."""
    cfg = load(tmp_path, 'det/retinanet_ghostnet_fpn_coco.py', 'model = dict(backbone=dict(init_cfg=None))')
    assert_message(check_frozen_needs_weights, cfg, ['model.backbone.frozen_stages=', *FIX])


@pytest.mark.parametrize('body', [
    "model = dict(backbone=dict(frozen_stages=1, norm_eval=True, init_cfg=dict(_delete_=True, type='Pretrained', "
    "checkpoint='cls.pth', prefix='backbone.')))",
    # a list of init_cfgs, one of them loading
    "model = dict(backbone=dict(norm_eval=True, init_cfg=[dict(type='Kaiming', layer='Conv2d'), "
    "dict(type='Pretrained', checkpoint='timm://ghostnet_100.in1k', prefix='backbone.')]))",
    # a whole trained model replaces every backbone tensor after init_weights
    "model = dict(backbone=dict(frozen_stages=1, norm_eval=True))\nload_from = 'detector.pth'",
    "model = dict(backbone=dict(frozen_stages=1), init_cfg=dict(type='Pretrained', checkpoint='detector.pth'))",
])
def test_freezing_loaded_weights_passes(tmp_path, body):
    check_frozen_needs_weights(load(tmp_path, 'demo/retinanet_ghostnet_fpn_shapes.py', body))


def test_pretrained_without_a_checkpoint_is_not_a_source(tmp_path):
    cfg = load(tmp_path, 'demo/retinanet_ghostnet_fpn_shapes.py',
               "model = dict(backbone=dict(norm_eval=True, init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=None)))")
    assert_message(check_frozen_needs_weights, cfg, FIX)


def test_wrapped_backbone_is_checked(tmp_path):
    """lwmm.DynamicConvBackbone around another codebase's backbone: the wrapped one's freezing counts too."""
    body = ("model = dict(backbone=dict(_delete_=True, type='lwmm.DynamicConvBackbone', "
            "backbone=dict(type='mmpretrain.MobileNetV2', frozen_stages=1, norm_eval=True)))")
    cfg = load(tmp_path, 'demo/retinanet_ghostnet_fpn_shapes.py', body)
    assert_message(check_frozen_needs_weights, cfg, [
        'model.backbone.backbone.frozen_stages=1 and model.backbone.backbone.norm_eval=True',
        'model.backbone.backbone.norm_eval=False'])
    cfg.model.backbone.backbone.init_cfg = dict(type='Pretrained', checkpoint='mobilenetv2.pth')
    check_frozen_needs_weights(cfg)


def test_other_codebases_backbones_are_left_alone(tmp_path):
    """mmdet's ResNet with frozen_stages and no weights is mmdet's business (its own configs load weights)."""
    body = "model = dict(backbone=dict(_delete_=True, type='mmdet.ResNet', depth=18, frozen_stages=1, norm_eval=True))"
    check_frozen_needs_weights(load(tmp_path, 'demo/retinanet_ghostnet_fpn_shapes.py', body))


def test_build_runner_refuses_freezing_random_weights(tmp_path):
    from lwmm.engine.launch import build_runner, load_config
    path = write_config(tmp_path, 'demo/retinanet_ghostnet_fpn_shapes.py',
                        'model = dict(backbone=dict(frozen_stages=1, norm_eval=True))')
    cfg = load_config(Namespace(config=path, cfg_options=None, work_dir=str(tmp_path / 'work'), launcher='none',
                                local_rank=0))
    with pytest.raises(ValueError, match='model.backbone.frozen_stages=1 and model.backbone.norm_eval=True'):
        build_runner(cfg)
    assert not (tmp_path / 'work').exists()


DEMO_CONFIGS = sorted(osp.relpath(p, CONFIGS) for p in glob.glob(osp.join(CONFIGS, 'demo', '*.py')))
DENSE_CONFIGS = sorted(osp.relpath(p, CONFIGS) for task in ('det', 'seg')
                       for p in glob.glob(osp.join(CONFIGS, task, '*.py')))


@pytest.mark.parametrize('config', DEMO_CONFIGS)
def test_demo_configs_train_from_scratch_without_freezing(config):
    """The demos start from random weights on the shapes data (the transfer demo from a shapes classifier)."""
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    check_frozen_needs_weights(cfg)
    init_cfg = cfg.model.get('backbone', {}).get('init_cfg')
    if init_cfg and init_cfg.get('type') == 'Pretrained':  # only a checkpoint made on this machine
        assert config == 'demo/ssdlite_ghostnetv2-transfer_shapes.py', init_cfg
        assert init_cfg['checkpoint'].startswith('work_dirs/'), init_cfg


@pytest.mark.parametrize('config', DENSE_CONFIGS)
def test_dense_configs_name_their_pretrained_source(config):
    """Issue 13: every det/seg config loads an ImageNet backbone, but the -scratch references."""
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    backbone = cfg.model.backbone
    sources = [backbone.get('init_cfg'), (backbone.get('backbone') or {}).get('init_cfg')]
    pretrained = [c for source in sources for c in (source if isinstance(source, list) else [source])
                  if isinstance(c, dict) and c.get('type') == 'Pretrained']
    if '-scratch' in config:
        assert not pretrained, config
    else:
        assert pretrained and pretrained[0]['checkpoint'], f'{config}: no Pretrained init_cfg on the backbone'
    check_frozen_needs_weights(cfg)


def _stock(tmp_path, base: str, body: str) -> Config:
    path = tmp_path / 'stock.py'
    path.write_text(f'_base_ = {base!r}\n{body}\n')
    return Config.fromfile(str(path))


SSDLITE_SWAP = ("model = dict(backbone=dict(_delete_=True, type='lwmm.GhostNetV2', out_indices=(3, 4)), "
                "neck=dict(in_channels=(112, 960)){})")


def test_stock_ssdhead_with_an_lwmm_backbone_is_refused(tmp_path):
    """mmdet's stock SSDLite keeps type='SSDHead', which crashes at the first validation (mmdet 3.3.0)."""
    cfg = _stock(tmp_path, 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py', SSDLITE_SWAP.format(''))
    assert_message(check_config, cfg, ["model.bbox_head.type='SSDHead': mmdet 3.3.0's SSDHead never builds "
                                       "loss_cls", "write type='lwmm.SSDHead'"])
    fixed = _stock(tmp_path, 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py',
                   SSDLITE_SWAP.format(", bbox_head=dict(type='lwmm.SSDHead')"))
    check_config(fixed)
    # mmdet's own backbone keeps mmdet's head: not lwmm's business
    check_config(_stock(tmp_path, 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py', ''))


def test_misspelt_lwmm_type_names_the_closest(tmp_path):
    cfg = load(tmp_path, 'demo/ssdlite_ghostnetv2_shapes.py',
               "model = dict(backbone=dict(type='lwmm.GhostnetV2'))\n"
               "custom_hooks = [dict(type='lwmm.DynamicConvTemperatureHok')]")
    assert_message(check_lwmm_types, cfg, [
        "model.backbone.type='lwmm.GhostnetV2' is not an lwmm type: did you mean type='lwmm.GhostNetV2'?",
        "custom_hooks[0].type='lwmm.DynamicConvTemperatureHok' is not an lwmm type: did you mean "
        "type='lwmm.DynamicConvTemperatureHook'?"])


def test_every_lwmm_registry_counts_as_lwmm_types(tmp_path):
    """tools/dist_train.sh on CPU sets model_wrapper_cfg to lwmm's DDP wrapper: not an unknown type."""
    cfg = load(tmp_path, 'demo/ssdlite_ghostnetv2_shapes.py',
               "model_wrapper_cfg = dict(type='lwmm.CPUDistributedDataParallel')\n"
               "optim_wrapper = dict(type='lwmm.CPUAmpOptimWrapper')")
    check_lwmm_types(cfg)
