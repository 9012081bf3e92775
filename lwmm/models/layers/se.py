"""Squeeze-and-excitation (Hu et al., CVPR 2018), in the gated form used by the mobile networks."""
import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer

from .conv_norm_act import build_inplace_activation
from .validation import check_input, check_int


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
        # mmcv's HSigmoid, not torch's Hardsigmoid: its gradient differs in the last bit (docs/benchmarks.md, SE gate)
        self.gate = build_activation_layer(gate_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input('SqueezeExcite', x, self.channels)
        scale = x.mean((2, 3), keepdim=True)
        scale = self.gate(self.excite(self.act(self.squeeze(scale))))
        return x * scale
