"""The Ghost module and Ghost bottleneck of GhostNet (Han et al., CVPR 2020) and GhostNetV2 (Tang et al.,
NeurIPS 2022)."""
import math
from typing import Optional

import torch
import torch.nn as nn

from .conv_norm_act import ConvNormAct
from .dfc_attention import DFCAttention
from .se import SqueezeExcite
from .utils import make_divisible
from .validation import check_choice, check_input, check_int, check_odd, check_range


class GhostModule(nn.Module):
    """A conv split into a few intrinsic maps and cheap "ghost" maps generated from them.

    An ordinary conv makes ``ceil(out_channels / ratio)`` intrinsic maps; a depthwise conv (the cheap
    operation) makes ``ratio - 1`` ghost maps from each; both are concatenated and cut to
    ``out_channels``. With ``use_dfc`` (GhostNetV2) the result is multiplied by a DFC attention gate
    computed from the module's input.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Kernel of the primary conv (1 in both papers).
        ratio (int): Output channels per intrinsic channel, s in the paper (>= 2).
        cheap_kernel_size (int): Kernel of the depthwise cheap operation, d in the paper.
        use_dfc (bool): Gate the output with :class:`DFCAttention` (GhostNetV2).
        norm_cfg (dict): Norm after both convs (always present).
        act_cfg (dict, optional): Activation after both convs; None for a linear module.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 1,
                 ratio: int = 2,
                 cheap_kernel_size: int = 3,
                 use_dfc: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU')):
        super().__init__()
        check_int('GhostModule', 'in_channels', in_channels)
        check_int('GhostModule', 'out_channels', out_channels)
        check_odd('GhostModule', 'kernel_size', kernel_size)
        check_int('GhostModule', 'ratio', ratio, minimum=2, hint='s in the paper; the released models use 2')
        check_odd('GhostModule', 'cheap_kernel_size', cheap_kernel_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        intrinsic = math.ceil(out_channels / ratio)
        self.primary = ConvNormAct(
            in_channels, intrinsic, kernel_size, padding=kernel_size // 2, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.cheap = ConvNormAct(
            intrinsic, intrinsic * (ratio - 1), cheap_kernel_size, padding=cheap_kernel_size // 2,
            groups=intrinsic, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.dfc = DFCAttention(in_channels, out_channels, norm_cfg=norm_cfg) if use_dfc else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input('GhostModule', x, self.in_channels)
        intrinsic = self.primary(x)
        ghost = self.cheap(intrinsic)
        out = torch.cat([intrinsic, ghost], dim=1)[:, :self.out_channels]
        if self.dfc is not None:
            out = out * self.dfc(x, out.shape[-2:])
        return out


class GhostBottleneck(nn.Module):
    """Ghost bottleneck: Ghost module (expansion), [stride-2 depthwise conv], [SE], Ghost module
    (linear projection), plus a shortcut.

    The second Ghost module and the strided depthwise conv have no activation; SE squeezes to
    ``make_divisible(mid_channels * se_ratio, 4)`` channels and gates with a hard sigmoid. The shortcut
    is the identity when the shape is kept, else a depthwise ``kernel_size`` conv (with the block's
    stride) + BN followed by a 1x1 conv + BN. In GhostNetV2 the first Ghost module may carry DFC
    attention (``use_dfc``).

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride) (rounded up).

    Args:
        in_channels (int): Input channels.
        mid_channels (int): Width after the first Ghost module.
        out_channels (int): Output channels.
        kernel_size (int): Kernel of the depthwise convs (strided conv and shortcut).
        stride (int): 1 or 2.
        se_ratio (float): Squeeze ratio of SE over ``mid_channels``; 0 for no SE.
        use_dfc (bool): DFC attention in the first Ghost module.
        norm_cfg (dict): Norm layers.
        act_cfg (dict): Activation of the first Ghost module and of SE's squeeze.
    """

    def __init__(self,
                 in_channels: int,
                 mid_channels: int,
                 out_channels: int,
                 kernel_size: int = 3,
                 stride: int = 1,
                 se_ratio: float = 0.,
                 use_dfc: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU')):
        super().__init__()
        for arg, value in (('in_channels', in_channels), ('mid_channels', mid_channels),
                           ('out_channels', out_channels)):
            check_int('GhostBottleneck', arg, value)
        check_odd('GhostBottleneck', 'kernel_size', kernel_size)
        check_choice('GhostBottleneck', 'stride', stride, (1, 2))
        check_range('GhostBottleneck', 'se_ratio', se_ratio, 0, 1, high_inclusive=True, hint='0 for no SE')
        padding = (kernel_size - 1) // 2
        self.ghost1 = GhostModule(in_channels, mid_channels, use_dfc=use_dfc, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.depthwise = None
        if stride > 1:
            self.depthwise = ConvNormAct(
                mid_channels, mid_channels, kernel_size, stride=stride, padding=padding, groups=mid_channels,
                norm_cfg=norm_cfg, act_cfg=None)
        self.se = None
        if se_ratio > 0:
            self.se = SqueezeExcite(mid_channels, make_divisible(mid_channels * se_ratio, 4), act_cfg=act_cfg)
        self.ghost2 = GhostModule(mid_channels, out_channels, norm_cfg=norm_cfg, act_cfg=None)
        if stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                ConvNormAct(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                            groups=in_channels, norm_cfg=norm_cfg, act_cfg=None),
                ConvNormAct(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.ghost1(x)
        if self.depthwise is not None:
            out = self.depthwise(out)
        if self.se is not None:
            out = self.se(out)
        out = self.ghost2(out)
        # in place: ``out`` is this block's own fresh tensor, and at batch 1 allocating another map of
        # this size for the sum costs more than the addition itself in the early, high-resolution blocks
        out += self.shortcut(x)
        return out
