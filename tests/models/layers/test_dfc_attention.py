import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from lwmm.models.layers.dfc_attention import DFCAttention


def _randomise_bn(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


@pytest.mark.parametrize('size', [(16, 16), (15, 9), (7, 1)])
def test_gate_shape_and_range(size):
    dfc = DFCAttention(6, 10).eval()
    gate = dfc(torch.randn(2, 6, *size), size)
    assert gate.shape == (2, 10, *size)
    assert gate.min() > 0 and gate.max() < 1


def test_matches_reference_definition():
    """2x2 avg-pool, 1x1 conv + BN, 1x5 depthwise + BN, 5x1 depthwise + BN, sigmoid, nearest upsample."""
    torch.manual_seed(0)
    dfc = DFCAttention(8, 12)
    _randomise_bn(dfc)
    dfc.eval()
    x = torch.randn(2, 8, 13, 11)
    ref = F.avg_pool2d(x, 2, 2)
    for conv_module, kernel in ((dfc.proj, (1, 1)), (dfc.horizontal, (1, 5)), (dfc.vertical, (5, 1))):
        conv, bn = conv_module.conv, conv_module.bn
        assert conv.kernel_size == kernel and conv.bias is None
        assert conv.groups == (1 if kernel == (1, 1) else 12)
        assert not conv_module.with_activation
        ref = F.batch_norm(
            F.conv2d(ref, conv.weight, padding=(kernel[0] // 2, kernel[1] // 2), groups=conv.groups),
            bn.running_mean, bn.running_var, bn.weight, bn.bias, eps=bn.eps)
    ref = F.interpolate(torch.sigmoid(ref), size=(13, 11), mode='nearest')
    assert ref.shape == (2, 12, 13, 11)
    torch.testing.assert_close(dfc(x, (13, 11)), ref)


def test_param_count():
    dfc = DFCAttention(8, 12)
    convs = 8 * 12 + 2 * 12 * 5
    bns = 3 * 2 * 12
    assert sum(p.numel() for p in dfc.parameters()) == convs + bns


@pytest.mark.parametrize('kernel_size', [0, 4])
def test_invalid_kernel(kernel_size):
    with pytest.raises(ValueError, match='kernel_size'):
        DFCAttention(4, 4, kernel_size=kernel_size)
