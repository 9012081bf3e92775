"""GhostNet (Han et al., "GhostNet: More Features from Cheap Operations", CVPR 2020) and GhostNetV2
(Tang et al., "GhostNetV2: Enhance Cheap Operation with Long-Range Attention", NeurIPS 2022)."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn

from lwmm.registry import MODELS
from ..layers.conv_norm_act import ConvNormAct
from ..layers.ghost import GhostBottleneck
from ..layers.utils import make_divisible
from ..layers.validation import check_widen_factor
from .base import StagedBackbone


@MODELS.register_module()
class GhostNet(StagedBackbone):
    """GhostNet backbone: a 3x3 stem, 16 Ghost bottlenecks and a final 1x1 conv, widened by a factor.

    Every width (stem, bottleneck and output channels, final conv) is ``make_divisible(c *
    widen_factor, 4)``, as in the official code; any positive ``widen_factor`` builds, the published
    ones are 0.5, 1.0 and 1.3. Stages are grouped by output stride: stage 0 is the stem and the first
    bottleneck, each later stage starts at a stride-2 bottleneck, and stage 4 ends with the final 1x1
    conv + BN + ReLU (960 channels at 1.0x), so ``GlobalAveragePooling`` and the paper's head
    (``StackedLinearClsHead`` with ``mid_channels=[1280]``, ReLU, dropout 0.2) complete the classifier.

    ======  ======  ==========================================
    index   stride  channels at 0.5x / 1.0x / 1.3x (V2 1.6x)
    ======  ======  ==========================================
    0       2       8 / 16 / 20 (24)
    1       4       12 / 24 / 32 (40)
    2       8       20 / 40 / 52 (64)
    3       16      56 / 112 / 144 (180)
    4       32      480 / 960 / 1248 (1536)
    ======  ======  ==========================================

    Dense prediction (``out_stride`` 16 or 8): the stride-2 convs of stage 4 (and 3) become stride 1 and
    every spatial conv after them is dilated (torchvision's rule: the conv that had the stride keeps the
    previous dilation), so each stage keeps the size of the last undilated one. In GhostNetV2 the DFC
    branch's 1x5 / 5x1 convs are dilated the same way while its 2x2 pool is kept: the pool is part of
    the gate, not of the feature path, and the nearest upsample returns the gate to the exact feature
    size, so outputs stay aligned for any input size; the gate then sees the same image extent as in
    the published network.

    Args:
        widen_factor (float): Width multiplier; published: 0.5, 1.0, 1.3 (GhostNetV2: 1.0, 1.3, 1.6).
        out_indices (Sequence[int]): Stages whose outputs are returned (negative counts from the end).
        frozen_stages (int): -1: none; 0: the stem conv; ``k``: the stem and stages ``0..k-1`` (the features
            up to stride ``2**k``); 5: everything (the backbone contract, as mmdet's ResNet counts).
        out_stride (int): 32 (published), 16 or 8 via dilation.
        norm_cfg (dict): Norm layers.
        act_cfg (dict): Activation of the stem, the first Ghost modules, SE and the final conv.
        norm_eval (bool): Keep BatchNorm statistics frozen while training.
        with_cp (bool): Gradient checkpointing of each block.
        init_cfg (dict or list[dict], optional): mmengine initialisation.

    Input (N, 3, H, W); output: a tuple of (N, C_i, ceil(H / s_i), ceil(W / s_i)) for i in out_indices.
    """

    #: the bottleneck table of the paper (Table 1): kernel, expansion (mid) width, output width, SE ratio,
    #: stride. A stride-2 row opens a new stage.
    arch_settings = [
        [3, 16, 16, 0, 1],
        [3, 48, 24, 0, 2],
        [3, 72, 24, 0, 1],
        [5, 72, 40, 0.25, 2],
        [5, 120, 40, 0.25, 1],
        [3, 240, 80, 0, 2],
        [3, 200, 80, 0, 1],
        [3, 184, 80, 0, 1],
        [3, 184, 80, 0, 1],
        [3, 480, 112, 0.25, 1],
        [3, 672, 112, 0.25, 1],
        [5, 672, 160, 0.25, 2],
        [5, 960, 160, 0, 1],
        [5, 960, 160, 0.25, 1],
        [5, 960, 160, 0, 1],
        [5, 960, 160, 0.25, 1],
    ]
    stem_channels = 16
    final_channels = 960
    published_widen_factors = (0.5, 1.0, 1.3)
    timm_weights = 'timm://ghostnet_100.in1k'
    argument_hints = {'arch': 'GhostNet and GhostNetV2 choose their size by widen_factor (published: '
                              'GhostNet 0.5, 1.0, 1.3; GhostNetV2 1.0, 1.3, 1.6)'}
    #: index of the first bottleneck whose first Ghost module has DFC attention; None: none (GhostNet)
    dfc_from_block: Optional[int] = None

    def __init__(self,
                 widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (4, ),
                 frozen_stages: int = -1,
                 out_stride: int = 32,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg=[
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm'])
                 ]):
        super().__init__(
            out_indices=out_indices, frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp,
            out_stride=out_stride, init_cfg=init_cfg)
        self.widen_factor = check_widen_factor(
            widen_factor, owner=type(self).__name__, published=self.published_widen_factors)

        def width(channels: int) -> int:
            return make_divisible(channels * widen_factor, 4)

        stem = ConvNormAct(3, width(self.stem_channels), 3, stride=2, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        stages, channels = [[stem]], [width(self.stem_channels)]
        in_channels = channels[0]
        for index, (kernel, mid, out, se_ratio, stride) in enumerate(self.arch_settings):
            if stride > 1:
                stages.append([])
                channels.append(None)
            use_dfc = self.dfc_from_block is not None and index >= self.dfc_from_block
            stages[-1].append(GhostBottleneck(
                in_channels, width(mid), width(out), kernel, stride, se_ratio=se_ratio, use_dfc=use_dfc,
                norm_cfg=norm_cfg, act_cfg=act_cfg))
            in_channels = channels[-1] = width(out)
        stages[-1].append(ConvNormAct(in_channels, width(self.final_channels), 1, norm_cfg=norm_cfg, act_cfg=act_cfg))
        channels[-1] = width(self.final_channels)
        self.stages = nn.ModuleList(nn.Sequential(*blocks) for blocks in stages)
        self._stage_channels = tuple(channels)
        self._init_contract()

    @property
    def stage_strides(self) -> Tuple[int, ...]:
        return tuple(2**(index + 1) for index in range(len(self.stages)))


@MODELS.register_module()
class GhostNetV2(GhostNet):
    """GhostNetV2 backbone: GhostNet with DFC attention (:class:`~lwmm.models.layers.DFCAttention`) in the
    first Ghost module of every bottleneck from the third on; published widths 1.0, 1.3 and 1.6.

    Everything else (table, stages, strides, arguments, dilation) is :class:`GhostNet`'s; the channel
    table there lists 1.6x in brackets.
    """

    published_widen_factors = (1.0, 1.3, 1.6)
    timm_weights = 'timm://ghostnetv2_100.in1k'
    dfc_from_block = 2
