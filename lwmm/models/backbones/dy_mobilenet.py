"""DY-MobileNetV2 and DY-MobileNetV3 (Chen et al., "Dynamic Convolution: Attention over Convolution Kernels",
CVPR 2020), and ``DynamicConvBackbone``, which makes any registered backbone dynamic.

The DY networks are the static networks, built from lwmm's shared blocks, with their convs swapped for
``DynamicConv2d`` by ``convert_to_dynamic``: there is no second copy of any network.
"""
import copy
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from lwmm.registry import MODELS
from ..layers.conv_norm_act import ConvNormAct
from ..layers.dynamic_conv import convert_to_dynamic
from ..layers.inverted_residual import InvertedResidual
from ..layers.utils import make_divisible
from ..layers.validation import check_widen_factor
from . import mobilenet_v2
from .base import BackboneArguments, StagedBackbone, check_choice


def convert_stages(backbone: StagedBackbone, K: int, reduction: int, temperature: float, rule) -> None:
    """Make ``backbone.stages`` dynamic after the contract has been applied.

    Dilation (``out_stride``) is applied to the static convs first and carried over by
    ``DynamicConv2d.from_conv``; frozen stages are frozen again so the new kernels are frozen too.
    """
    convert_to_dynamic(backbone.stages, K=K, rule=rule, reduction=reduction, temperature=temperature)
    backbone.dynamic_conv_names = backbone.stages.dynamic_conv_names
    backbone._freeze_stages()


@MODELS.register_module()
class DYMobileNetV2(StagedBackbone):
    """DY-MobileNetV2: MobileNetV2 (Sandler et al., CVPR 2018) with dynamic convolutions.

    Every conv is a ``DynamicConv2d`` (K kernels, attention reduction 4) except the stem and, by
    default, the final 1x1 conv to 1280 channels: the paper's parameter counts (11.1M / 7.0M / 4.0M at
    x1.0 / x0.75 / x0.5) are those of this choice, while a dynamic final conv would add 1.2M at x1.0
    (see docs/dynamic_conv.md). The layer table and width rules are MobileNetV2's, shared with
    Oct-MobileNetV2 (:mod:`lwmm.models.backbones.mobilenet_v2`), so the static network is mmpretrain's
    ``MobileNetV2`` at every ``widen_factor``.

    Stages are grouped by output stride; stage 4 ends with the final conv, so a classifier is backbone +
    ``GlobalAveragePooling`` + ``LinearClsHead(1280)``.

    ======  ======  ===========================================
    index   stride  channels at x1.0 / x0.75 / x0.5 / x0.35
    ======  ======  ===========================================
    0       2       16 / 16 / 8 / 8
    1       4       24 / 24 / 16 / 8
    2       8       32 / 24 / 16 / 16
    3       16      96 / 72 / 48 / 32
    4       32      1280 / 1280 / 1280 / 1280
    ======  ======  ===========================================

    Args:
        widen_factor (float): Width multiplier; published: 1.0, 0.75, 0.5, 0.35.
        K (int): Kernels per dynamic conv (paper: 4).
        reduction (int): Reduction ratio of the kernel attention (paper: 4).
        temperature (float): Initial softmax temperature of the attention (1 after annealing;
            ``lwmm.DynamicConvTemperatureHook`` sets it during training).
        dynamic_final_conv (bool): Make the final 1x1 conv dynamic too.
        rule (dict or callable, optional): A ``ConversionRule`` (as a dict) or callable that replaces the
            default choice of dynamic convs (names are relative to ``stages``).
        out_indices, frozen_stages, out_stride, norm_eval, with_cp, init_cfg: The backbone contract
            (:class:`StagedBackbone`). ``frozen_stages`` 0..3 freeze what mmpretrain's / mmdet's MobileNetV2
            freezes for the same number (0: the stem, ``k``: the stem and layers 1..k); 4 freezes its layers
            1..5, 5 its layers 1..7 and the final 1x1 conv. Its 4 and 6 end inside a stage here (no number).
        norm_cfg (dict): Norm layers.
        act_cfg (dict): Activation (ReLU6).

    Input (N, 3, H, W); output: a tuple of (N, C_i, ceil(H / s_i), ceil(W / s_i)) for i in out_indices.
    """

    published_widen_factors = (1.0, 0.75, 0.5, 0.35)
    timm_weights = 'timm://mobilenetv2_100.ra_in1k'

    def __init__(self,
                 widen_factor: float = 1.0,
                 K: int = 4,
                 reduction: int = 4,
                 temperature: float = 1.0,
                 dynamic_final_conv: bool = False,
                 rule: Optional[Union[dict, Callable]] = None,
                 out_indices: Sequence[int] = (4, ),
                 frozen_stages: int = -1,
                 out_stride: int = 32,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU6'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg=None):
        super().__init__(
            out_indices=out_indices, frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp,
            out_stride=out_stride, init_cfg=init_cfg)
        self.widen_factor = check_widen_factor(
            widen_factor, owner=type(self).__name__, published=self.published_widen_factors)
        self.stages, self._stage_channels = mobilenet_v2.build_stages(
            widen_factor,
            stem=lambda out: ConvNormAct(3, out, 3, stride=2, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            block=lambda row, in_channels, out, stride, expand_ratio: InvertedResidual(
                in_channels, out, stride, expand_ratio, norm_cfg=norm_cfg, act_cfg=act_cfg),
            final=lambda in_channels, out: ConvNormAct(in_channels, out, 1, norm_cfg=norm_cfg, act_cfg=act_cfg))
        self._init_contract()

        if rule is None:
            final_name = rf'^{len(self.stages) - 1}\.{len(self.stages[-1]) - 1}\.conv$'
            rule = dict(skip_first=1, exclude=[] if dynamic_final_conv else [final_name])
        convert_stages(self, K, reduction, temperature, rule)


@MODELS.register_module()
class DYMobileNetV3(StagedBackbone):
    """DY-MobileNetV3: MobileNetV3 (Howard et al., ICCV 2019) with dynamic convolutions.

    Every conv of the stem-less network (expansion, depthwise, projection and the final 1x1 conv) is a
    ``DynamicConv2d``; the stem and the SE gates' 1x1 convs stay static (the gates are attention, not
    convolution layers of the network). The paper evaluates the Small arch (DY-MobileNetV3-Small).

    Stages are grouped by output stride; stage 4 ends with the final 1x1 conv (576 / 960 channels,
    hard-swish), so a classifier is backbone + ``GlobalAveragePooling`` + ``StackedLinearClsHead(
    mid_channels=[1280], act_cfg=HSwish, dropout_rate=0.2)``: the DY-CNN paper's counts are those of a
    1280-wide head for both archs (mmpretrain's MobileNetV3-Small has 1024; docs/dynamic_conv.md).

    ======  ======  =====================
    index   stride  channels small / large
    ======  ======  =====================
    0       2       16 / 16
    1       4       16 / 24
    2       8       24 / 40
    3       16      48 / 112
    4       32      576 / 960
    ======  ======  =====================

    Args:
        arch (str): 'small' or 'large'.
        K, reduction, temperature, rule: As :class:`DYMobileNetV2`.
        out_indices, frozen_stages, out_stride, norm_eval, with_cp, init_cfg: The backbone contract.
            ``frozen_stages`` (0: the stem, ``k``: the stem and stages ``0..k-1``) against mmpretrain's
            ``MobileNetV3``, whose ``k`` freezes its layers 0 (the stem) to ``k``: small 0 and 1 -> its 0,
            2 -> 1, 3 -> 3, 4 -> 8, 5 -> 12; large 0 -> 0, 1 -> 1, 2 -> 3, 3 -> 6, 4 -> 12, 5 -> 16.
        norm_cfg (dict): Norm layers.
    """

    #: kernel, expansion width, output width, SE, activation, stride (MobileNetV3, Tables 1 and 2)
    arch_settings = {
        'small': [[3, 16, 16, True, 'ReLU', 2],
                  [3, 72, 24, False, 'ReLU', 2],
                  [3, 88, 24, False, 'ReLU', 1],
                  [5, 96, 40, True, 'HSwish', 2],
                  [5, 240, 40, True, 'HSwish', 1],
                  [5, 240, 40, True, 'HSwish', 1],
                  [5, 120, 48, True, 'HSwish', 1],
                  [5, 144, 48, True, 'HSwish', 1],
                  [5, 288, 96, True, 'HSwish', 2],
                  [5, 576, 96, True, 'HSwish', 1],
                  [5, 576, 96, True, 'HSwish', 1]],
        'large': [[3, 16, 16, False, 'ReLU', 1],
                  [3, 64, 24, False, 'ReLU', 2],
                  [3, 72, 24, False, 'ReLU', 1],
                  [5, 72, 40, True, 'ReLU', 2],
                  [5, 120, 40, True, 'ReLU', 1],
                  [5, 120, 40, True, 'ReLU', 1],
                  [3, 240, 80, False, 'HSwish', 2],
                  [3, 200, 80, False, 'HSwish', 1],
                  [3, 184, 80, False, 'HSwish', 1],
                  [3, 184, 80, False, 'HSwish', 1],
                  [3, 480, 112, True, 'HSwish', 1],
                  [3, 672, 112, True, 'HSwish', 1],
                  [5, 672, 160, True, 'HSwish', 2],
                  [5, 960, 160, True, 'HSwish', 1],
                  [5, 960, 160, True, 'HSwish', 1]],
    }
    final_channels = dict(small=576, large=960)
    timm_weights = 'timm://mobilenetv3_large_100.ra_in1k'

    def __init__(self,
                 arch: str = 'small',
                 K: int = 4,
                 reduction: int = 4,
                 temperature: float = 1.0,
                 rule: Optional[Union[dict, Callable]] = None,
                 out_indices: Sequence[int] = (4, ),
                 frozen_stages: int = -1,
                 out_stride: int = 32,
                 norm_cfg: dict = dict(type='BN', eps=0.001, momentum=0.01),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg=None):
        super().__init__(
            out_indices=out_indices, frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp,
            out_stride=out_stride, init_cfg=init_cfg)
        check_choice(type(self).__name__, 'arch', arch, self.arch_settings)
        self.arch = arch
        hswish = dict(type='HSwish')
        in_channels = 16
        stages = [[ConvNormAct(3, in_channels, 3, stride=2, padding=1, norm_cfg=norm_cfg, act_cfg=hswish)]]
        channels = [in_channels]
        for kernel, expand, out, with_se, act, stride in self.arch_settings[arch]:
            if stride > 1:
                stages.append([])
                channels.append(None)
            stages[-1].append(InvertedResidual(
                in_channels, out, stride, kernel_size=kernel, hidden_channels=expand,
                se_channels=make_divisible(expand / 4, 8) if with_se else None,
                norm_cfg=norm_cfg, act_cfg=dict(type=act)))
            in_channels = channels[-1] = out
        stages[-1].append(ConvNormAct(in_channels, self.final_channels[arch], 1, norm_cfg=norm_cfg, act_cfg=hswish))
        channels[-1] = self.final_channels[arch]
        self.stages = nn.ModuleList(nn.Sequential(*blocks) for blocks in stages)
        self._stage_channels = tuple(channels)
        self._init_contract()
        if rule is None:
            rule = dict(skip_first=1, exclude=[r'\.se\.'])
        convert_stages(self, K, reduction, temperature, rule)


@MODELS.register_module()
class DynamicConvBackbone(BackboneArguments, BaseModule):
    """Any registered backbone with its convs made dynamic by ``convert_to_dynamic``.

    Example (mmpretrain's MobileNetV2 in a config, all convs but the stem dynamic)::

        backbone=dict(type='lwmm.DynamicConvBackbone',
                      backbone=dict(type='mmpretrain.MobileNetV2', widen_factor=1.0, out_indices=(7, )),
                      K=4, rule=dict(skip_first=1))

    The wrapped backbone keeps its own contract (out_indices, frozen_stages, norm_eval...): its outputs
    are returned unchanged. Its ``init_cfg`` initialisers that name ``Conv2d`` leave the dynamic convs
    alone, which initialise their K kernels themselves.

    Args:
        backbone (dict): Config of the backbone to convert (any scope: 'mmpretrain.X', 'mmdet.X', 'lwmm.X').
        K (int): Kernels per dynamic conv.
        reduction (int): Reduction ratio of the kernel attention.
        temperature (float): Initial softmax temperature.
        rule (dict or callable, optional): Which convs become dynamic (``ConversionRule`` arguments);
            None: every conv except the first (the paper's rule).
        init_cfg (dict, optional): Initialisation of the wrapper, e.g. ``dict(type='Pretrained',
            checkpoint=..., prefix='backbone.')`` with a classifier trained with this wrapper.
    """

    def __init__(self,
                 backbone: dict,
                 K: int = 4,
                 reduction: int = 4,
                 temperature: float = 1.0,
                 rule: Optional[Union[dict, Callable]] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(backbone, (dict, nn.Module)):
            raise ValueError(f'DynamicConvBackbone: backbone={backbone!r} must be a config dict or a module.')
        self.backbone = MODELS.build(copy.deepcopy(backbone)) if isinstance(backbone, dict) else backbone
        convert_to_dynamic(self.backbone, K=K, rule=rule, reduction=reduction, temperature=temperature)
        self.dynamic_conv_names = self.backbone.dynamic_conv_names
        freeze = getattr(self.backbone, '_freeze_stages', None)
        if callable(freeze):
            freeze()

    def forward(self, x: torch.Tensor):
        return self.backbone(x)
