"""Squeeze-and-excitation (Hu et al., CVPR 2018), in the gated form used by the mobile networks."""
import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer

from .conv_norm_act import build_inplace_activation
from .validation import check_input, check_int


def _build_gate(gate_cfg: dict) -> nn.Module:
    """The gate layer of ``gate_cfg``; mmcv's ``HSigmoid(bias=3, divisor=6)`` as ``nn.Hardsigmoid``.

    Both compute ``clamp((x + 3) / 6, 0, 1)`` and give the same bits, but mmcv's runs it as three operators
    (add, divide, clamp) where torch has one kernel: at batch 1 the two extra dispatches are a visible part
    of a small network's SE blocks. Any other gate (other bias, divisor or bounds) is built by mmcv.
    """
    hard_sigmoid_defaults = dict(bias=3.0, divisor=6.0, min_value=0.0, max_value=1.0)
    if gate_cfg.get('type') == 'HSigmoid' and set(gate_cfg) <= {'type', *hard_sigmoid_defaults} and all(
            gate_cfg.get(key, value) == value for key, value in hard_sigmoid_defaults.items()):
        return nn.Hardsigmoid()
    return build_activation_layer(gate_cfg)


class SqueezeExcite(nn.Module):
    """Channel gate: global average pool, 1x1 conv down, activation, 1x1 conv up, gate, multiply.

    GhostNet and MobileNetV3 gate with a hard sigmoid; the squeezed width is chosen by the caller because
    the two networks round it differently.

    Args:
        channels (int): Channels of the input and output.
        squeeze_channels (int): Channels after the squeeze conv.
        act_cfg (dict): Activation between the two convs.
        gate_cfg (dict): Gating function.
    """

    def __init__(self,
                 channels: int,
                 squeeze_channels: int,
                 act_cfg: dict = dict(type='ReLU'),
                 gate_cfg: dict = dict(type='HSigmoid', bias=3.0, divisor=6.0)):
        super().__init__()
        check_int('SqueezeExcite', 'channels', channels)
        check_int('SqueezeExcite', 'squeeze_channels', squeeze_channels)
        self.channels = channels
        self.squeeze = nn.Conv2d(channels, squeeze_channels, 1, bias=True)
        self.act = build_inplace_activation(act_cfg)  # on the squeezed tensor, made just before
        self.excite = nn.Conv2d(squeeze_channels, channels, 1, bias=True)
        self.gate = _build_gate(gate_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input('SqueezeExcite', x, self.channels)
        scale = x.mean((2, 3), keepdim=True)
        scale = self.gate(self.excite(self.act(self.squeeze(scale))))
        return x * scale
