"""Oct-ResNet: ResNet with octave convolutions (Chen et al., "Drop an Octave", ICCV 2019)."""
from typing import Sequence

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer

from ...registry import MODELS
from ..layers.conv_norm_act import ConvNormAct
from ..layers.octave_conv import (OctaveConvModule, OctaveDilation, octave_add, octave_map,
                                  octave_merge, octave_parts)
from ..layers.validation import check_int
from .base import StagedBackbone


class OctBottleneck(nn.Module):
    """ResNet bottleneck (1x1 reduce, 3x3, 1x1 expand, shortcut) built from octave convolutions.

    ``alpha_in`` is the low fraction of the block input, ``alpha`` that of everything the block computes.
    They differ only where the network enters the octave stages (``alpha_in=0``: the first layers are
    the H -> H+L split) and where it leaves them (``alpha=0``: the H+L -> H merge). The stride sits on the
    3x3 conv (and the 1x1 shortcut), as torchvision's and mmpretrain's ResNet-50.

    Args:
        in_channels (int): Input channels (both parts).
        out_channels (int): Output channels (both parts); the bottleneck width is a quarter of it.
        stride (int): 1 or 2.
        alpha_in (float): Low-frequency fraction of the input.
        alpha (float): Low-frequency fraction inside and at the output of the block.
        norm_cfg (dict): Norm layers.
        act_cfg (dict): Activation after conv1, conv2 and the residual sum.
    """

    expansion = 4

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 alpha_in: float = 0.5,
                 alpha: float = 0.5,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU', inplace=True)):
        super().__init__()
        mid_channels = out_channels // self.expansion
        self.conv1 = OctaveConvModule(
            in_channels, mid_channels, 1, alpha_in, alpha, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = OctaveConvModule(
            mid_channels, mid_channels, 3, alpha, alpha, stride=stride, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv3 = OctaveConvModule(mid_channels, out_channels, 1, alpha, alpha, norm_cfg=norm_cfg,
                                      act_cfg=None)
        self.downsample = None
        if stride != 1 or in_channels != out_channels or alpha_in != alpha:
            self.downsample = OctaveConvModule(
                in_channels, out_channels, 1, alpha_in, alpha, stride=stride, norm_cfg=norm_cfg,
                act_cfg=None)
        self.act = build_activation_layer(act_cfg)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv3(self.conv2(self.conv1(x)))
        return octave_map(self.act, octave_add(out, identity))


@MODELS.register_module()
class OctResNet(OctaveDilation, StagedBackbone):
    """Oct-ResNet backbone: ResNet-v1 bottlenecks whose convolutions are octave convolutions.

    Paper: Chen et al., "Drop an Octave: Reducing Spatial Redundancy in Convolutional Neural Networks with
    Octave Convolution", ICCV 2019 (https://arxiv.org/abs/1904.05049). Where the octave layers sit follows
    the official Gluon ``resnetv1`` (ratios ``[a, a, a, 0]`` per stage) and d-li14/octconv.pytorch:

    - the stem (7x7 conv, max pool) is vanilla; the first block of res2 splits H -> H+L (``alpha_in=0``
      in its conv1 and shortcut);
    - res2, res3, res4 run at ``alpha``; the first block of res5 merges H+L -> H (``alpha_out=0`` in its
      conv1 and its strided 1x1 shortcut), after which res5 is a vanilla ResNet stage.
    - Deviation, on purpose: the official code also average-pools before the strided 3x3 of that vanilla
      res5 block; here a layer without low part is exactly ``nn.Conv2d`` (strided conv, same MACs and
      parameters), so ``alpha=0`` is exactly mmpretrain's ``ResNet`` (tested: same outputs once weights
      are copied).

    Parameters equal the vanilla ResNet's for every alpha (the octave split only partitions the weights).

    Each stage hands a neck one tensor (:meth:`stage_output`): the low part is nearest-upsampled and
    concatenated after the high part (the official ``Adapter``). A neck then sees the same channels and
    stride as with a vanilla ResNet for every alpha (FPN/ASPP configs of ResNet-50 apply unchanged) and
    no channel is dropped; returning only the high part would lose ``alpha`` of the features and make
    ``in_channels`` depend on alpha. The merge costs a copy, no multiply-add.

    Stages (the stem, 7x7 conv and max pool, opens stage 0). ``frozen_stages`` counts as mmdet's and
    mmpretrain's ResNet: 0 freezes the stem, 1 the stem and res2 (the stock RetinaNet-R50 setting), ``k``
    the stem and res2..res(k+1), 4 everything:

    ======= ======== ======== =========================================
    index   stride   channels contents
    ======= ======== ======== =========================================
    0       4        256      stem, res2 (octave)
    1       8        512      res3 (octave)
    2       16       1024     res4 (octave)
    3       32       2048     res5 (H+L -> H, then vanilla)
    ======= ======== ======== =========================================

    Args:
        depth (int): 26, 50, 101 or 152 (blocks per stage in ``arch_settings``).
        alpha (float): Low-frequency fraction of the octave stages, in [0, 1); 0 is the vanilla ResNet.
            Published: 0.125, 0.25, 0.5, 0.75.
        in_channels (int): Input image channels.
        stem_channels (int): Channels of the stem.
        out_indices (Sequence[int]): Stages to return; ``(0, 1, 2, 3)`` for FPN.
        frozen_stages, norm_eval, with_cp, out_stride, init_cfg: The backbone contract
            (:class:`StagedBackbone`); ``out_stride`` 16 or 8 dilates res5 (and res4).
        norm_cfg (dict): Norm layers (one per frequency part).
        act_cfg (dict): Activation.
        zero_init_residual (bool): Zero-initialise the last norm of each block (as mmpretrain's ResNet).

    Shapes: input ``(N, in_channels, H, W)``; stage ``i`` output ``(N, channels_i, ceil(H / stride_i),
    ceil(W / stride_i))`` (odd sizes allowed).
    """

    arch_settings = {26: (2, 2, 2, 2), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
    #: bottleneck widths of res2..res5; outputs are 4x these
    base_widths = (64, 128, 256, 512)
    timm_weights = 'timm://resnet50.tv_in1k'
    #: leading stages that run on two frequencies; the rest are vanilla (the paper keeps res5 vanilla)
    num_octave_stages = 3
    #: the 7x7 conv and the max pool
    stem_length = 2

    def __init__(self,
                 depth: int = 50,
                 alpha: float = 0.5,
                 in_channels: int = 3,
                 stem_channels: int = 64,
                 out_indices: Sequence[int] = (3, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 out_stride: int = 32,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 zero_init_residual: bool = True,
                 init_cfg=[
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
                 ]):
        super().__init__(out_indices, frozen_stages, norm_eval, with_cp, out_stride, init_cfg)
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise ValueError(f'{name}: depth={depth!r} is not supported; choose one of '
                             f'{sorted(self.arch_settings)}.')
        if not isinstance(alpha, (int, float)) or not 0 <= alpha < 1:
            raise ValueError(f'{name}: alpha={alpha!r} is not supported; use a fraction in [0, 1) '
                             f'(published: 0.125, 0.25, 0.5, 0.75).')
        check_int(name, 'in_channels', in_channels)
        check_int(name, 'stem_channels', stem_channels)
        self.depth, self.alpha = depth, alpha
        self.zero_init_residual = zero_init_residual

        stem = [
            ConvNormAct(in_channels, stem_channels, 7, stride=2, padding=3, bias=False, norm_cfg=norm_cfg,
                       act_cfg=act_cfg),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
        self.stages = nn.ModuleList()
        channels, alpha_in = stem_channels, 0.0
        for index, (num_blocks, width) in enumerate(zip(self.arch_settings[depth], self.base_widths)):
            stage_alpha = alpha if index < self.num_octave_stages else 0.0
            out_channels = width * OctBottleneck.expansion
            blocks = stem if index == 0 else []
            for block_index in range(num_blocks):
                stride = 2 if index > 0 and block_index == 0 else 1
                blocks.append(OctBottleneck(channels, out_channels, stride, alpha_in, stage_alpha,
                                            norm_cfg=norm_cfg, act_cfg=act_cfg))
                channels, alpha_in = out_channels, stage_alpha
            self.stages.append(nn.Sequential(*blocks))
        self._init_contract()

    @property
    def stage_strides(self):
        return (4, 8, 16, 32)

    @property
    def stage_channels(self):
        return tuple(width * OctBottleneck.expansion for width in self.base_widths)

    def forward_stage(self, stage: nn.Sequential, x):
        for block in stage:
            high, low = octave_parts(x)
            needs_grad = high.requires_grad or (low is not None and low.requires_grad)
            if self.with_cp and self.training and needs_grad:
                x = cp.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x

    def stage_output(self, x):
        """One tensor per stage: ``cat([high, upsample(low)])`` (see the class docstring for why)."""
        return octave_merge(x)

    def residual_last_norms(self):
        return [norm for module in self.modules() if isinstance(module, OctBottleneck)
                for norm in (module.conv3.norm_h, module.conv3.norm_l) if norm is not None]
