"""Oct-MobileNetV2: MobileNetV2 with octave convolutions (Chen et al., "Drop an Octave", ICCV 2019)."""
from typing import Sequence

import torch
import torch.nn as nn

from ...registry import MODELS
from ..layers.conv_norm_act import ConvNormAct
from ..layers.octave_conv import OctaveConvModule, OctaveDilation, octave_merge
from ..layers.validation import check_range, check_widen_factor
from . import mobilenet_v2
from .base import StagedBackbone


class OctInvertedResidual(nn.Module):
    """MobileNetV2 inverted residual whose hidden (expanded) features run on two frequencies.

    As the official Gluon ``mobilenetv2``: the 1x1 expansion splits H -> H+L, the 3x3 depthwise conv is
    an octave depthwise conv (H->H, L->L only; stride by average pooling), the linear 1x1 projection
    merges H+L -> H. The block's input and output stay single tensors, so the shortcut is the vanilla one.
    Without an expansion conv there is nothing to split and the block is vanilla; ``expand_ratio == 1``
    has no expansion conv unless ``force_expand`` (the official code's first block: a 1x1 conv of the
    same width that performs the split).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): 1 or 2.
        expand_ratio (float): Hidden width over ``in_channels``.
        alpha (float): Low-frequency fraction of the hidden features; 0 is the vanilla block.
        norm_cfg (dict): Norm layers.
        act_cfg (dict): Activation of the expansion and depthwise convs.
        force_expand (bool): Build the expansion conv even when ``expand_ratio == 1``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int,
                 expand_ratio: float,
                 alpha: float = 0.375,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU6'),
                 force_expand: bool = False):
        super().__init__()
        hidden = int(round(in_channels * expand_ratio))
        with_expand = expand_ratio != 1 or force_expand
        alpha = alpha if with_expand else 0.0
        self.use_shortcut = stride == 1 and in_channels == out_channels
        self.expand = None
        if with_expand:
            self.expand = OctaveConvModule(in_channels, hidden, 1, 0.0, alpha, norm_cfg=norm_cfg,
                                           act_cfg=act_cfg)
        self.depthwise = OctaveConvModule(hidden, hidden, 3, alpha, alpha, stride=stride, groups=hidden,
                                          norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.project = OctaveConvModule(hidden, out_channels, 1, alpha, 0.0, norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return x + out if self.use_shortcut else out


@MODELS.register_module()
class OctMobileNetV2(OctaveDilation, StagedBackbone):
    """Oct-MobileNetV2 backbone (MobileNetV2 1.0 with alpha 0.375 as published: 3.5M params, 256M MACs).

    Paper: Chen et al., "Drop an Octave: Reducing Spatial Redundancy in Convolutional Neural Networks with
    Octave Convolution", ICCV 2019 (https://arxiv.org/abs/1904.05049); layout of the official Gluon
    ``mobilenetv2`` (facebookresearch/OctConv): the hidden features of the 16/24/32/64/96 layers are
    octave (see :class:`OctInvertedResidual`), the 160 and 320 layers and the 1280 conv are vanilla, the
    stem is vanilla. Table, widths and stages are MobileNetV2's, shared with DY-MobileNetV2
    (:mod:`lwmm.models.backbones.mobilenet_v2`: mmpretrain's ``MobileNetV2`` at every ``widen_factor``). A
    vanilla layer strides in its conv (as mmpretrain's MobileNetV2); octave layers average-pool.

    The first block (expand ratio 1) has no expansion conv in the MobileNetV2 paper and mmpretrain; the
    official Gluon code has a 32->32 one, which performs the H -> H+L split there. ``expand_first_block``
    (default True, the published model) keeps it when ``alpha > 0``: 3.506M parameters (mmpretrain's
    MobileNetV2 + 1,088) and 254.0M MACs with the classifier, vs 3.5M / 256M published; False gives
    exactly mmpretrain's parameters but 247.6M MACs (-3.3 %). ``alpha=0`` builds mmpretrain's
    MobileNetV2 exactly either way (same outputs once weights are copied; tested).

    Block outputs are single tensors (the projection merges the frequencies), so stages hand necks plain
    tensors; :meth:`stage_output` still merges a pair should a custom arch end a stage on one.

    Stages (the stem belongs to stage 0; a stride-2 layer opens a stage), at ``widen_factor=1.0``:

    ======= ======== ======== ==========================================
    index   stride   channels layers
    ======= ======== ======== ==========================================
    0       2        16       stem (32), 16
    1       4        24       24
    2       8        32       32
    3       16       96       64, 96
    4       32       1280     160, 320, 1x1 conv to 1280
    ======= ======== ======== ==========================================

    Args:
        widen_factor (float): Width multiplier.
        alpha (float): Low-frequency fraction of the octave layers, in [0, 1); 0 is the vanilla network.
        expand_first_block (bool): Give the first block the official code's expansion conv when octave.
        out_indices (Sequence[int]): Stages to return; ``(3, 4)`` for SSDLite (96 and 1280 channels, as
            mmdet's MobileNetV2 ``out_indices=(4, 7)``).
        frozen_stages, norm_eval, with_cp, out_stride, init_cfg: The backbone contract
            (:class:`StagedBackbone`). ``frozen_stages`` 0..3 freeze what mmpretrain's / mmdet's MobileNetV2
            freezes for the same number (0: the stem, ``k``: the stem and layers 1..k); 4 freezes its layers
            1..5, 5 its layers 1..7 and the final 1x1 conv. Its 4 and 6 end inside a stage here (no number).
        norm_cfg (dict): Norm layers.
        act_cfg (dict): Activation.

    Shapes: input ``(N, 3, H, W)``; stage ``i`` output ``(N, channels_i, ceil(H / stride_i), ...)``.
    """

    #: output widths of the table rows (``mobilenet_v2.ARCH_SETTINGS``) whose hidden features are octave
    octave_widths = (16, 24, 32, 64, 96)
    published_widen_factors = (1.0, 1.125)
    timm_weights = 'timm://mobilenetv2_100.ra_in1k'

    def __init__(self,
                 widen_factor: float = 1.0,
                 alpha: float = 0.375,
                 expand_first_block: bool = True,
                 out_indices: Sequence[int] = (4, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 out_stride: int = 32,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU6'),
                 init_cfg=[
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
                 ]):
        super().__init__(out_indices, frozen_stages, norm_eval, with_cp, out_stride, init_cfg)
        name = type(self).__name__
        check_widen_factor(widen_factor, owner=name, published=self.published_widen_factors)
        check_range(name, 'alpha', alpha, 0, 1, hint='published: 0.375 at 1.0x, 0.5 at 1.125x')
        self.widen_factor, self.alpha = widen_factor, alpha

        def block(row, in_channels, out_channels, stride, expand_ratio):
            octave = mobilenet_v2.ARCH_SETTINGS[row][1] in self.octave_widths
            return OctInvertedResidual(in_channels, out_channels, stride, expand_ratio, alpha if octave else 0.0,
                                       norm_cfg, act_cfg, force_expand=expand_first_block and octave and alpha > 0)

        self.stages, self._stage_channels = mobilenet_v2.build_stages(
            widen_factor,
            stem=lambda out: ConvNormAct(3, out, 3, stride=2, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            block=block,
            final=lambda in_channels, out: ConvNormAct(in_channels, out, 1, norm_cfg=norm_cfg, act_cfg=act_cfg))
        self.last_channels = self._stage_channels[-1]
        self._init_contract()

    def stage_output(self, x):
        return octave_merge(x)
