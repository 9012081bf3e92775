import torch
import torch.nn as nn
from mmcv.cnn.bricks.hsigmoid import HSigmoid

from lwmm.models.layers.se import SqueezeExcite


def test_default_gate_is_mmcv_hsigmoid_and_squeeze_act_in_place():
    se = SqueezeExcite(8, 4)
    assert isinstance(se.gate, HSigmoid)  # see SqueezeExcite: the gradient of torch's Hardsigmoid differs
    assert se.act.inplace  # the squeezed tensor is the block's own


def test_other_gates_are_built_by_mmcv():
    assert isinstance(SqueezeExcite(8, 4, gate_cfg=dict(type='HSigmoid', bias=1.0, divisor=2.0)).gate, HSigmoid)
    assert isinstance(SqueezeExcite(8, 4, gate_cfg=dict(type='Sigmoid')).gate, nn.Sigmoid)
