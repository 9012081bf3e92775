import torch
import torch.nn as nn
from mmcv.cnn.bricks.hsigmoid import HSigmoid

from lwmm.models.layers.se import SqueezeExcite


def test_default_gate_is_torch_hardsigmoid_with_mmcv_hsigmoid_values():
    se = SqueezeExcite(8, 4)
    assert isinstance(se.gate, nn.Hardsigmoid)
    assert se.act.inplace  # the squeezed tensor is the block's own
    x = torch.linspace(-8, 8, 100001)
    torch.testing.assert_close(se.gate(x), HSigmoid(bias=3.0, divisor=6.0)(x.clone()), rtol=0, atol=0)


def test_other_gates_are_built_by_mmcv():
    assert isinstance(SqueezeExcite(8, 4, gate_cfg=dict(type='HSigmoid', bias=1.0, divisor=2.0)).gate, HSigmoid)
    assert isinstance(SqueezeExcite(8, 4, gate_cfg=dict(type='Sigmoid')).gate, nn.Sigmoid)
