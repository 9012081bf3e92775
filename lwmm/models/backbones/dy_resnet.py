"""DY-ResNet (Chen et al., "Dynamic Convolution: Attention over Convolution Kernels", CVPR 2020): ResNet-10 and
ResNet-18 (He et al., CVPR 2016) built from basic blocks whose 3x3 convs are made dynamic."""
from typing import Callable, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from lwmm.registry import MODELS
from ..layers.conv_norm_act import ConvNormAct
from .base import StagedBackbone, check_choice
from .dy_mobilenet import convert_stages


class BasicBlock(nn.Module):
    """ResNet's basic block: 3x3 conv (strided), 3x3 conv, shortcut (1x1 conv + BN when the shape changes),
    sum, ReLU.

    lwmm's own, not mmpretrain's ``BasicBlock``: ``lwmm.models`` must not import mmpretrain, and built from
    lwmm's conv-norm-act it folds, converts and loads (``conv1.conv``, ``conv1.bn``) as every lwmm block.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first conv and the shortcut.
        norm_cfg (dict): Norm layers.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, norm_cfg: dict = dict(type='BN')):
        super().__init__()
        self.conv1 = ConvNormAct(in_channels, out_channels, 3, stride, 1, bias=False, norm_cfg=norm_cfg)
        self.conv2 = ConvNormAct(out_channels, out_channels, 3, 1, 1, bias=False, norm_cfg=norm_cfg, act_cfg=None)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = ConvNormAct(
                in_channels, out_channels, 1, stride, bias=False, norm_cfg=norm_cfg, act_cfg=None)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.act(self.conv2(self.conv1(x)) + identity)


@MODELS.register_module()
class DYResNet(StagedBackbone):
    """DY-ResNet-10 / DY-ResNet-18: ResNet of basic blocks whose 3x3 convs are ``DynamicConv2d``.

    The stem (7x7 conv, max pool) stays static, as in the paper; the 1x1 shortcut convs stay static by
    default too (``rule`` changes that): the paper's counts are those of this choice (its ResNet params
    are in units of 2**20, see docs/dynamic_conv.md). Stages follow torchvision / mmdet's ResNet: stage 0
    is the stem with the first residual layer, so mmdet configs' ``out_indices`` carry over, and
    ``frozen_stages`` counts as mmdet's: 0 freezes the stem (7x7 conv, max pool), 1 the stem and the
    first residual layer (index 0 below), ``k`` the stem and stages ``0..k-1``, 4 everything.

    ======  ======  ========
    index   stride  channels
    ======  ======  ========
    0       4       64
    1       8       128
    2       16      256
    3       32      512
    ======  ======  ========

    Args:
        depth (int): 10 (one basic block per stage) or 18 (two).
        K (int): Kernels per dynamic conv (paper: 4).
        reduction (int): Reduction ratio of the kernel attention (paper: 4).
        temperature (float): Initial softmax temperature.
        rule (dict or callable, optional): Replaces the default choice of dynamic convs (names relative to
            ``stages``, e.g. ``dict(skip_first=1)`` for every conv but the stem, shortcuts included).
        out_indices, frozen_stages, out_stride, norm_eval, with_cp, init_cfg: The backbone contract
            (:class:`StagedBackbone`).
        norm_cfg (dict): Norm layers.

    Input (N, 3, H, W); output: a tuple of (N, C_i, ceil(H / s_i), ceil(W / s_i)) for i in out_indices.
    """

    #: basic blocks per stage; ResNet-10 is the DY-CNN paper's, one block per stage
    arch_settings = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2)}
    stage_widths = (64, 128, 256, 512)
    timm_weights = 'timm://resnet18.tv_in1k'
    published_strides = (4, 8, 16, 32)
    #: the 7x7 conv and the max pool
    stem_length = 2

    def __init__(self,
                 depth: int = 18,
                 K: int = 4,
                 reduction: int = 4,
                 temperature: float = 1.0,
                 rule: Optional[Union[dict, Callable]] = None,
                 out_indices: Sequence[int] = (3, ),
                 frozen_stages: int = -1,
                 out_stride: int = 32,
                 norm_cfg: dict = dict(type='BN'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg=None):
        super().__init__(
            out_indices=out_indices, frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp,
            out_stride=out_stride, init_cfg=init_cfg)
        check_choice(type(self).__name__, 'depth', depth, self.arch_settings)
        self.depth = depth
        stem = [ConvNormAct(3, 64, 7, 2, 3, bias=False, norm_cfg=norm_cfg), nn.MaxPool2d(3, 2, 1)]
        stages, in_channels = [], 64
        for index, (num_blocks, width) in enumerate(zip(self.arch_settings[depth], self.stage_widths)):
            blocks = stem if index == 0 else []
            for block in range(num_blocks):
                stride = 2 if index > 0 and block == 0 else 1
                blocks.append(BasicBlock(in_channels, width, stride, norm_cfg))
                in_channels = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self._init_contract()
        if rule is None:
            rule = dict(skip_first=1, exclude=['downsample'])
        convert_stages(self, K, reduction, temperature, rule)

    @property
    def stage_channels(self) -> Tuple[int, ...]:
        return self.stage_widths
