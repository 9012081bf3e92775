"""BN folding (lwmm.deploy.fuse): the deploy form computes what the eval-mode model computes.

Tolerance rule used throughout: ``max|fused - unfused| <= 1e-5 * max(1, max|unfused|)`` per output, i.e.
1e-5 absolute for outputs up to 1 and 1e-5 relative to the largest output beyond that (float32 rounding
grows with the magnitude). BN statistics and affine parameters are randomised so that folding has an
effect (a fresh BN is the identity, which would hide a wrong fold).
"""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope

import lwmm  # noqa: F401
from lwmm.deploy import fold_bn_into_conv, fuse_conv_bn, randomize_norms, switch_to_deploy, unfused_norms
from lwmm.deploy.onnx import flatten_outputs
from lwmm.deploy.tasks import TensorMode
from lwmm.models.layers.dynamic_conv import DynamicConv2d
from lwmm.models.layers.octave_conv import OctaveConvModule
from lwmm.registry import MODELS

# (randomize_norms: a fresh BN is nearly the identity, which would hide a wrong fold)
TOLERANCE = 1e-5


def outputs(model, x):
    """Every tensor ``model(x)`` returns, nested lists and tuples (a detector's per-level outputs) flattened."""
    with torch.no_grad():
        return flatten_outputs(model(x), skip_others=True)


def assert_fused_equal(model: nn.Module, x: torch.Tensor, allowed_left=()):
    randomize_norms(model)
    expected = outputs(model, x)
    assert expected, 'the model returned no tensor to compare'
    fused = switch_to_deploy(copy.deepcopy(model))
    assert not fused.training
    got = outputs(fused, x)
    assert len(got) == len(expected)
    for want, have in zip(expected, got):
        assert want.shape == have.shape
        bound = TOLERANCE * max(1.0, want.abs().max().item())
        assert (want - have).abs().max().item() <= bound
    assert unfused_norms(fused) == list(allowed_left)
    assert len(unfused_norms(model)) > 0  # the original is untouched (it was deep-copied)
    return fused


BACKBONES = {
    'ghostnet-0.5': (dict(type='lwmm.GhostNet', widen_factor=0.5), 64),
    'ghostnet-1.0': (dict(type='lwmm.GhostNet', widen_factor=1.0), 64),
    'ghostnet-1.3': (dict(type='lwmm.GhostNet', widen_factor=1.3), 64),
    'ghostnetv2-1.0': (dict(type='lwmm.GhostNetV2', widen_factor=1.0), 64),
    'ghostnetv2-1.0-os16': (dict(type='lwmm.GhostNetV2', widen_factor=1.0, out_stride=16), 48),
    'mobilevit-xxs': (dict(type='lwmm.MobileViT', arch='xx_small'), 64),
    'mobilevit-xs-odd': (dict(type='lwmm.MobileViT', arch='x_small'), 72),  # 72/32: bilinear resize path
    'mobilevit-s': (dict(type='lwmm.MobileViT', arch='small'), 64),
    'oct-resnet26-a0': (dict(type='lwmm.OctResNet', depth=26, alpha=0.0), 64),
    'oct-resnet26-a0.25': (dict(type='lwmm.OctResNet', depth=26, alpha=0.25), 64),
    'oct-resnet26-a0.75-odd': (dict(type='lwmm.OctResNet', depth=26, alpha=0.75), 50),
    'oct-resnet50-a0.5': (dict(type='lwmm.OctResNet', depth=50, alpha=0.5), 64),
    'oct-resnet50-a0.125-os8': (dict(type='lwmm.OctResNet', depth=50, alpha=0.125, out_stride=8), 40),
    'oct-mobilenetv2': (dict(type='lwmm.OctMobileNetV2'), 64),
    'oct-mobilenetv2-1.125': (dict(type='lwmm.OctMobileNetV2', widen_factor=1.125, alpha=0.5), 64),
    'dy-mobilenetv2-0.35': (dict(type='lwmm.DYMobileNetV2', widen_factor=0.35), 64),
    'dy-mobilenetv2-1.0-tau30': (dict(type='lwmm.DYMobileNetV2', widen_factor=1.0, temperature=30.0), 64),
    'dy-mobilenetv3-small': (dict(type='lwmm.DYMobileNetV3', arch='small'), 64),
    'dy-mobilenetv3-large': (dict(type='lwmm.DYMobileNetV3', arch='large'), 64),
    'dy-resnet10': (dict(type='lwmm.DYResNet', depth=10), 64),
    'dy-resnet18': (dict(type='lwmm.DYResNet', depth=18), 64),
    'dynamic-mmpretrain-mobilenetv2': (dict(
        type='lwmm.DynamicConvBackbone',
        backbone=dict(type='mmpretrain.MobileNetV2', widen_factor=0.5, out_indices=(2, 4, 7))), 64),
}


def _all_stages(cfg: dict) -> dict:
    cfg = copy.deepcopy(cfg)
    counts = {'GhostNet': 5, 'GhostNetV2': 5, 'MobileViT': 5, 'OctResNet': 4, 'OctMobileNetV2': 5,
              'DYMobileNetV2': 5, 'DYMobileNetV3': 5, 'DYResNet': 4}
    name = cfg['type'].split('.')[-1]
    if name in counts:
        cfg['out_indices'] = tuple(range(counts[name]))
    return cfg


@pytest.mark.parametrize('name', list(BACKBONES))
def test_backbone_fused_equals_unfused(spread_dynamic_kernels, name):
    cfg, size = BACKBONES[name]
    torch.manual_seed(0)
    # K distinct kernels in the DY networks: as built they are copies, and a fold that merged them would not show
    model = spread_dynamic_kernels(MODELS.build(_all_stages(cfg)))
    x = torch.randn(2, 3, size, size)
    assert_fused_equal(model, x)


# -- the block-level rules ------------------------------------------------------------------------------------
@pytest.mark.parametrize('alpha_in,alpha_out,stride,groups,size', [
    (0.0, 0.5, 1, 1, 9), (0.5, 0.5, 1, 1, 9), (0.5, 0.25, 2, 1, 11), (0.5, 0.0, 2, 1, 8), (0.5, 0.0, 1, 1, 7),
    (0.25, 0.25, 2, 16, 10), (0.5, 0.5, 1, 4, 6)])
@pytest.mark.parametrize('bias', [False, True])
def test_octave_conv_module_fold(alpha_in, alpha_out, stride, groups, size, bias):
    torch.manual_seed(0)
    module = OctaveConvModule(16, 16, 3, alpha_in, alpha_out, stride=stride, groups=groups, bias=bias,
                              act_cfg=None)
    high = torch.randn(2, module.conv.in_h, size, size)
    x = high if module.conv.in_l == 0 else (high, torch.randn(2, module.conv.in_l, (size + 1) // 2,
                                                              (size + 1) // 2))
    fused = assert_fused_equal(module, x)
    assert fused.norm_h is None and fused.norm_l is None


@pytest.mark.parametrize('groups,bias,temperature', [(1, True, 1.0), (1, False, 30.0), (8, True, 4.0)])
def test_dynamic_conv_fold_scales_every_kernel(spread_dynamic_kernels, groups, bias, temperature):
    torch.manual_seed(0)
    # K distinct kernels: as built they are copies, and a fold that merged them would not show
    conv = spread_dynamic_kernels(DynamicConv2d(8, 16, 3, padding=1, groups=groups, bias=bias, temperature=temperature))
    model = nn.Sequential(conv, nn.BatchNorm2d(16))
    fused = assert_fused_equal(model, torch.randn(3, 8, 9, 9))
    assert isinstance(fused[1], nn.Identity)
    assert fused[0].bias is not None and fused[0].bias.shape == (conv.num_kernels, 16)


def test_sequential_pairs_linear_and_timm_style_norm_act():
    from timm.layers import BatchNormAct2d  # timm is a requirement: a missing one fails, not skips
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), BatchNormAct2d(8, act_layer=nn.ReLU),
        nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, 4), nn.BatchNorm1d(4))
    fused = assert_fused_equal(model, torch.randn(2, 3, 8, 8))
    assert isinstance(fused[1], nn.Sequential) and isinstance(fused[1][-1], nn.ReLU)  # the act survives


def test_norms_that_cannot_fold_are_left_and_listed():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.ReLU(), nn.BatchNorm2d(8),  # not preceded by a conv
        nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8, track_running_stats=False))  # normalises with batch stats
    assert_fused_equal(model, torch.randn(2, 3, 8, 8), allowed_left=['2', '4'])


def test_pre_activation_conv_module_is_left():
    from mmcv.cnn import ConvModule
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 1), ConvModule(8, 8, 3, padding=1, norm_cfg=dict(type='BN'),
                                                            order=('norm', 'act', 'conv')))
    counts = fuse_conv_bn(randomize_norms(copy.deepcopy(model)))
    assert counts['conv_module'] == 0
    assert_fused_equal(model, torch.randn(2, 3, 8, 8), allowed_left=['1.bn'])


def test_fold_bn_into_conv_rejects_a_mismatch():
    with pytest.raises(ValueError, match='channel mismatch'):
        fold_bn_into_conv(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(4))


# -- whole models of the three codebases -------------------------------------------------------------------
@pytest.mark.parametrize('config,shape', [
    ('demo/ghostnet-1.0x_shapes.py', (2, 3, 64, 64)),
    ('demo/ssdlite_ghostnetv2_shapes.py', (1, 3, 96, 96)),
    ('demo/deeplabv3_mobilevit-xxs_shapes.py', (1, 3, 64, 64)),
])
def test_config_model_fused(repo_root, config, shape):
    """MODELS.build, not build_model_from_config: the DeepLabV3 head's SyncBN is folded as built."""
    cfg = Config.fromfile(osp.join(repo_root, 'configs', config))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
        model.init_weights()
        assert_fused_equal(TensorMode(model), torch.randn(*shape))
