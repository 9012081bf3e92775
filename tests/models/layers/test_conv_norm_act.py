import copy

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from lwmm.deploy import fuse_conv_bn, randomize_norms
from lwmm.models.backbones import ghostnet as ghostnet_module
from lwmm.models.backbones.ghostnet import GhostNet, GhostNetV2
from lwmm.models.layers import dfc_attention as dfc_module
from lwmm.models.layers import ghost as ghost_module
from lwmm.models.layers.conv_norm_act import ConvNormAct

CASES = [
    dict(norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU')),
    dict(norm_cfg=dict(type='BN'), act_cfg=None),
    dict(norm_cfg=dict(type='GN', num_groups=4), act_cfg=dict(type='HSwish')),
    dict(norm_cfg=None, act_cfg=dict(type='LeakyReLU', negative_slope=0.2)),
    dict(norm_cfg=None, act_cfg=None),
]


@pytest.mark.parametrize('cfg', CASES)
def test_same_children_parameters_and_output_as_conv_module(cfg):
    conv_args = (8, 16, 3)
    conv_kwargs = dict(stride=2, padding=1, groups=2, **cfg)
    reference = ConvModule(*conv_args, **conv_kwargs)
    module = ConvNormAct(*conv_args, **conv_kwargs)
    assert isinstance(module, ConvModule)
    assert list(module._modules) == list(reference._modules)
    assert {k: v.shape for k, v in module.state_dict().items()} == \
        {k: v.shape for k, v in reference.state_dict().items()}
    assert module.norm_name == reference.norm_name
    assert module.with_norm == reference.with_norm and module.with_activation == reference.with_activation
    if reference.with_activation and hasattr(reference.activate, 'inplace'):
        assert module.activate.inplace == reference.activate.inplace
    module.load_state_dict(randomize_norms(reference).state_dict())
    module.eval()
    x = torch.randn(2, 8, 9, 7)
    with torch.no_grad():
        torch.testing.assert_close(module(x), reference(x), rtol=0, atol=0)
        for flags in (dict(activate=False), dict(norm=False)):
            torch.testing.assert_close(module(x, **flags), reference(x, **flags), rtol=0, atol=0)


def test_forward_calls_the_children_in_turn(monkeypatch):
    """The default layout runs its own forward; any other takes ConvModule's (which this test breaks)."""
    x = torch.randn(1, 8, 6, 6)
    straight = ConvNormAct(8, 8, 3, padding=1, norm_cfg=dict(type='BN')).eval()
    other_layouts = [ConvNormAct(8, 8, 3, padding=1, norm_cfg=dict(type='BN'), order=('norm', 'conv', 'act')),
                     ConvNormAct(8, 8, 3, padding=1, norm_cfg=dict(type='BN'), padding_mode='reflect'),
                     ConvNormAct(8, 8, 3, padding=1, norm_cfg=dict(type='BN'), efficient_conv_bn_eval=True)]
    with torch.no_grad():
        expected = [m.eval()(x) for m in [straight] + other_layouts]

    def fail(*args, **kwargs):
        raise AssertionError('ConvModule.forward called')

    monkeypatch.setattr(ConvModule, 'forward', fail)
    with torch.no_grad():
        torch.testing.assert_close(straight(x), expected[0], rtol=0, atol=0)
        for module in other_layouts:
            with pytest.raises(AssertionError, match='ConvModule.forward called'):
                module(x)


def test_initialised_like_conv_module():
    module = ConvNormAct(8, 16, 3, norm_cfg=dict(type='BN'))
    assert module.conv.bias is None
    assert torch.all(module.bn.weight == 1) and torch.all(module.bn.bias == 0)
    # He init (fan_out, ReLU) as ConvModule: std sqrt(2 / (16 * 9))
    assert abs(module.conv.weight.std().item() - (2 / (16 * 9))**0.5) < 0.02


def test_fold_is_conv_modules():
    torch.manual_seed(0)
    module = randomize_norms(ConvNormAct(8, 16, 3, padding=1, norm_cfg=dict(type='BN')))
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        expected = module(x)
        counts = fuse_conv_bn(module)
        assert counts == dict(conv_module=1, octave=0, sequential=0)
        assert isinstance(module.bn, nn.Identity) and not module.with_norm
        torch.testing.assert_close(module(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('backbone_cls, widen_factor', [(GhostNet, 1.0), (GhostNet, 0.5), (GhostNetV2, 1.3)])
def test_ghostnet_state_dict_and_output_as_with_conv_module(monkeypatch, backbone_cls, widen_factor):
    """GhostNet built with ConvNormAct keeps the checkpoint layout (and outputs) of its ConvModule form."""
    torch.manual_seed(0)
    model = randomize_norms(backbone_cls(widen_factor=widen_factor, out_indices=(0, 1, 2, 3, 4)))
    for namespace in (ghost_module, dfc_module, ghostnet_module):
        monkeypatch.setattr(namespace, 'ConvNormAct', ConvModule)
    reference = backbone_cls(widen_factor=widen_factor, out_indices=(0, 1, 2, 3, 4)).eval()
    assert sum(type(m) is ConvModule for m in reference.modules()) > 0
    assert not any(type(m) is ConvModule for m in model.modules())
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert list(shapes) == list(reference.state_dict())
    assert shapes == {k: v.shape for k, v in reference.state_dict().items()}
    reference.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for out, expected in zip(model(x), reference(x)):
            torch.testing.assert_close(out, expected, rtol=0, atol=0)


@pytest.mark.parametrize('cfg', [
    dict(type='lwmm.GhostNet', widen_factor=0.5),
    dict(type='lwmm.GhostNetV2', widen_factor=1.0),
    dict(type='lwmm.MobileViT', arch='xx_small'),
    dict(type='lwmm.DYMobileNetV2', widen_factor=0.35),
    dict(type='lwmm.DYMobileNetV3', arch='small'),
    dict(type='lwmm.DYResNet', depth=10),
    dict(type='lwmm.OctMobileNetV2', widen_factor=0.5),
    dict(type='lwmm.OctResNet', depth=26),
])
def test_every_backbone_builds_conv_norm_act(cfg):
    """One conv-norm-act (docs/conv_norm_act.md): no lwmm backbone holds a plain ConvModule."""
    from lwmm.registry import MODELS
    model = MODELS.build(cfg)
    assert not [name for name, m in model.named_modules() if type(m) is ConvModule]
    assert any(isinstance(m, ConvNormAct) for m in model.modules())
