"""The inverted residual block of MobileNetV2 (Sandler et al., CVPR 2018), optionally with SE."""
from typing import Optional

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule

from .se import SqueezeExcite


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
        if stride not in (1, 2):
            raise ValueError(f'InvertedResidual: stride must be 1 or 2, got {stride}.')
        self.with_cp = with_cp
        self.use_shortcut = stride == 1 and in_channels == out_channels
        hidden = hidden_channels or int(round(in_channels * expand_ratio))
        self.expand = None
        if hidden != in_channels:
            self.expand = ConvModule(in_channels, hidden, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.depthwise = ConvModule(
            hidden, hidden, kernel_size, stride=stride, padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation, groups=hidden, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.se = SqueezeExcite(hidden, se_channels) if se_channels else None
        self.project = ConvModule(hidden, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.expand is None else self.expand(x)
        out = self.depthwise(out)
        if self.se is not None:
            out = self.se(out)
        out = self.project(out)
        return x + out if self.use_shortcut else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
