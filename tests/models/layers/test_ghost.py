import pytest
import torch
import torch.nn as nn
from timm.models import ghostnet as timm_ghostnet

from lwmm.models.layers.ghost import GhostBottleneck, GhostModule


def _randomise_bn(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


def _copy_in_order(src: nn.Module, dst: nn.Module) -> None:
    """Both implementations register their tensors in the paper's order: copy them pairwise."""
    src_items, dst_keys = list(src.state_dict().items()), list(dst.state_dict())
    assert len(src_items) == len(dst_keys)
    state = {}
    for (src_key, value), dst_key in zip(src_items, dst_keys):
        assert src_key.rsplit('.', 1)[-1] == dst_key.rsplit('.', 1)[-1], (src_key, dst_key)
        state[dst_key] = value
    dst.load_state_dict(state, strict=True)


def _compare(timm_module, lwmm_module, x):
    torch.manual_seed(1)
    _randomise_bn(timm_module)
    _copy_in_order(timm_module, lwmm_module)
    timm_module.eval(), lwmm_module.eval()
    with torch.no_grad():
        torch.testing.assert_close(lwmm_module(x), timm_module(x.clone()), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('out_channels', [8, 7])
@pytest.mark.parametrize('act', [True, False])
def test_ghost_module_matches_timm(out_channels, act):
    timm_module = timm_ghostnet.GhostModule(6, out_channels, act_layer=nn.ReLU if act else nn.Identity)
    module = GhostModule(6, out_channels, act_cfg=dict(type='ReLU') if act else None)
    _compare(timm_module, module, torch.randn(2, 6, 9, 10))


@pytest.mark.parametrize('size', [(10, 12), (9, 7)])
def test_ghost_module_dfc_matches_timm_v2(size):
    timm_module = timm_ghostnet.GhostModuleV2(6, 10)
    module = GhostModule(6, 10, use_dfc=True)
    _compare(timm_module, module, torch.randn(2, 6, *size))


def test_ghost_module_shapes_and_widths():
    module = GhostModule(4, 7, ratio=3)
    assert module.primary.conv.out_channels == 3  # ceil(7 / 3) intrinsic maps
    assert module.cheap.conv.out_channels == 6 and module.cheap.conv.groups == 3
    assert module(torch.randn(1, 4, 5, 6)).shape == (1, 7, 5, 6)
    assert module.dfc is None


@pytest.mark.parametrize('ratio', [1, 0, 2.5])
def test_ghost_module_invalid_ratio(ratio):
    with pytest.raises(ValueError, match='ratio'):
        GhostModule(4, 8, ratio=ratio)


@pytest.mark.parametrize(
    'in_channels, mid_channels, out_channels, kernel_size, stride, se_ratio, use_dfc',
    [
        (16, 16, 16, 3, 1, 0, False),  # identity shortcut
        (16, 48, 24, 3, 2, 0, False),  # strided, conv shortcut
        (24, 72, 40, 5, 2, 0.25, False),  # strided with SE
        (80, 480, 112, 3, 1, 0.25, False),  # width change at stride 1
        (24, 72, 24, 3, 1, 0, True),  # GhostNetV2
        (40, 240, 80, 3, 2, 0.25, True),
    ])
@pytest.mark.parametrize('size', [(12, 12), (11, 9)])
def test_bottleneck_matches_timm(in_channels, mid_channels, out_channels, kernel_size, stride, se_ratio, use_dfc,
                                 size):
    timm_block = timm_ghostnet.GhostBottleneck(
        in_channels, mid_channels, out_channels, kernel_size, stride, se_ratio=se_ratio,
        mode='attn' if use_dfc else 'original')
    block = GhostBottleneck(
        in_channels, mid_channels, out_channels, kernel_size, stride, se_ratio=se_ratio, use_dfc=use_dfc)
    _compare(timm_block, block, torch.randn(2, in_channels, *size))
    out = block(torch.randn(1, in_channels, *size))
    assert out.shape == (1, out_channels, -(-size[0] // stride), -(-size[1] // stride))


def test_bottleneck_structure():
    block = GhostBottleneck(24, 72, 40, 5, 2, se_ratio=0.25, use_dfc=True)
    # no activation after the strided depthwise conv nor in the second (projection) Ghost module
    assert not block.depthwise.with_activation
    assert not block.ghost2.primary.with_activation and not block.ghost2.cheap.with_activation
    assert block.ghost1.primary.with_activation
    # DFC only in the first Ghost module
    assert block.ghost1.dfc is not None and block.ghost2.dfc is None
    # SE squeezes to make_divisible(72 * 0.25, 4) = 20 channels, not round(18)
    assert block.se.squeeze.out_channels == 20
    assert isinstance(block.shortcut, nn.Sequential)
    assert isinstance(GhostBottleneck(16, 16, 16).shortcut, nn.Identity)
    assert GhostBottleneck(16, 32, 16).depthwise is None and GhostBottleneck(16, 32, 16).se is None


def test_bottleneck_invalid_args():
    with pytest.raises(ValueError, match='stride'):
        GhostBottleneck(8, 16, 8, stride=3)
    with pytest.raises(ValueError, match='se_ratio'):
        GhostBottleneck(8, 16, 8, se_ratio=-0.5)
