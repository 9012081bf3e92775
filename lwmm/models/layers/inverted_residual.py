"""The inverted residual block of MobileNetV2 (Sandler et al., CVPR 2018), optionally with SE."""
from typing import Optional

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp

from .conv_norm_act import ConvNormAct
from .se import SqueezeExcite
from .validation import check_choice, check_input, check_int, check_odd, check_range


class InvertedResidual(nn.Module):
    """1x1 expansion, kxk depthwise (strided or dilated), optional SE, 1x1 linear projection, shortcut.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the depthwise conv, 1 or 2.
        expand_ratio (float): Hidden width over ``in_channels``; 1 skips the expansion conv.
        kernel_size (int): Depthwise kernel size.
        dilation (int): Depthwise dilation.
        se_channels (int, optional): Squeezed width of an SE gate after the depthwise conv; None for none.
        norm_cfg (dict): Norm layers.
        act_cfg (dict): Activation of the expansion and depthwise convs (the projection has none).
        with_cp (bool): Gradient checkpointing of the block.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 expand_ratio: float = 6,
                 kernel_size: int = 3,
                 dilation: int = 1,
                 se_channels: Optional[int] = None,
                 hidden_channels: Optional[int] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU6'),
                 with_cp: bool = False):
        super().__init__()
        owner = 'InvertedResidual'
        check_int(owner, 'in_channels', in_channels)
        check_int(owner, 'out_channels', out_channels)
        check_choice(owner, 'stride', stride, (1, 2))
        check_range(owner, 'expand_ratio', expand_ratio, 0, low_inclusive=False)
        check_odd(owner, 'kernel_size', kernel_size)
        check_int(owner, 'dilation', dilation)
        if se_channels is not None:
            check_int(owner, 'se_channels', se_channels, hint='None for no SE')
        if hidden_channels is not None:
            check_int(owner, 'hidden_channels', hidden_channels, hint='None for in_channels * expand_ratio')
        if int(round(in_channels * expand_ratio)) < 1 and hidden_channels is None:
            raise ValueError(f'{owner}: expand_ratio={expand_ratio!r} leaves no hidden channel of '
                             f'in_channels={in_channels}; use expand_ratio >= {0.5 / in_channels:g}.')
        self.with_cp = with_cp
        self.in_channels = in_channels
        self.use_shortcut = stride == 1 and in_channels == out_channels
        hidden = hidden_channels or int(round(in_channels * expand_ratio))
        self.expand = None
        if hidden != in_channels:
            self.expand = ConvNormAct(in_channels, hidden, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.depthwise = ConvNormAct(
            hidden, hidden, kernel_size, stride=stride, padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation, groups=hidden, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.se = SqueezeExcite(hidden, se_channels) if se_channels else None
        self.project = ConvNormAct(hidden, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.expand is None else self.expand(x)
        out = self.depthwise(out)
        if self.se is not None:
            out = self.se(out)
        out = self.project(out)
        return x + out if self.use_shortcut else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input('InvertedResidual', x, self.in_channels)
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
