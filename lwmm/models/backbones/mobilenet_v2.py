"""MobileNetV2's layer table and width rules (Sandler et al., "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018), once, for the networks lwmm builds on it: DY-MobileNetV2 and Oct-MobileNetV2.

One table here rather than a conversion of mmpretrain's ``MobileNetV2``: ``lwmm.models`` must not import
mmpretrain, Oct-MobileNetV2's blocks are not a conv swap, and both keep lwmm's stage layout and state dicts.
"""
from typing import Callable, List, Tuple

import torch.nn as nn

from ..layers.utils import make_divisible

#: expand ratio, output channels, blocks, stride of the first block (the paper's Table 2, after the stem)
ARCH_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                 (6, 320, 1, 1))
STEM_CHANNELS = 32
FINAL_CHANNELS = 1280


def width(channels: int, widen_factor: float) -> int:
    """A widened layer width, a multiple of 8 (the rounding of the paper's code, mmpretrain and timm)."""
    return make_divisible(channels * widen_factor, 8)


def final_width(widen_factor: float) -> int:
    """The final 1x1 conv's width: the paper keeps 1280 for multipliers below 1 (Sec. 6.1); above 1 it is
    widened as mmpretrain's ``MobileNetV2`` does (``int(1280 * widen_factor)``), so that lwmm's networks
    equal mmpretrain's at every factor (timm and the paper's code round to 8, the same at 1.4)."""
    return int(FINAL_CHANNELS * widen_factor) if widen_factor > 1.0 else FINAL_CHANNELS


def build_stages(widen_factor: float, stem: Callable[[int], nn.Module],
                 block: Callable[[int, int, int, int, float], nn.Module],
                 final: Callable[[int, int], nn.Module]) -> Tuple[nn.ModuleList, Tuple[int, ...]]:
    """The network's stages, grouped by output stride, and their output channels.

    Stage 0 is the stem and the stride-1 first row; each stride-2 block opens a stage; the last stage ends
    with the final 1x1 conv. ``stem(out_channels)``, ``block(row, in_channels, out_channels, stride,
    expand_ratio)`` (``row`` indexes ``ARCH_SETTINGS``) and ``final(in_channels, out_channels)`` build the
    modules, so each network chooses its own blocks over the same table.
    """
    in_channels = width(STEM_CHANNELS, widen_factor)
    stages: List[List[nn.Module]] = [[stem(in_channels)]]
    channels: List[int] = [in_channels]
    for row, (expand_ratio, out, num_blocks, first_stride) in enumerate(ARCH_SETTINGS):
        out_channels = width(out, widen_factor)
        for index in range(num_blocks):
            stride = first_stride if index == 0 else 1
            if stride > 1:
                stages.append([])
                channels.append(0)
            stages[-1].append(block(row, in_channels, out_channels, stride, expand_ratio))
            in_channels = channels[-1] = out_channels
    channels[-1] = final_width(widen_factor)
    stages[-1].append(final(in_channels, channels[-1]))
    return nn.ModuleList(nn.Sequential(*blocks) for blocks in stages), tuple(channels)
