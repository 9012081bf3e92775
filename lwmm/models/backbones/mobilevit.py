"""MobileViT (Mehta & Rastegari, "MobileViT: Light-weight, General-purpose, and Mobile-friendly Vision
Transformer", ICLR 2022)."""
from typing import List, Sequence, Union

import torch.nn as nn

from lwmm.registry import MODELS
from ..layers.conv_norm_act import ConvNormAct
from ..layers.inverted_residual import InvertedResidual
from ..layers.mobilevit_block import MobileViTBlock
from ..layers.validation import check_divides, check_int, check_range
from .base import StagedBackbone, check_choice


@MODELS.register_module()
class MobileViT(StagedBackbone):
    """MobileViT backbone: a MobileNetV2 body whose last three stages end in a MobileViT block.

    Each layer of the arch is ``[out_channels, stride, num_mv2_blocks, transformer_dim,
    transformer_depth]``: ``num_mv2_blocks`` MV2 (inverted residual, SiLU) blocks, the first with
    ``stride``, then, when ``transformer_depth > 0``, one MobileViT block with that many transformer
    layers of width ``transformer_dim`` (FFN ``mlp_ratio * transformer_dim``). The last stage ends with the
    1x1 conv-BN-SiLU expansion to ``last_channels`` (4x the last width), so a classifier is this backbone
    + global average pooling + dropout + linear, as in the paper.

    Stages are grouped by output stride (the 3x3 stride-2 stem belongs to stage 0):

    ======  ======  ===========  ==========  =========
    stage   stride  xx_small     x_small     small
    ======  ======  ===========  ==========  =========
    0       2       16           32          32
    1       4       24           48          64
    2       8       48 (d 64)    64 (d 96)   96 (d 144)
    3       16      64 (d 80)    80 (d 120)  128 (d 192)
    4       32      320          384         640
    ======  ======  ===========  ==========  =========

    (``d``: transformer width; stage 4 is 80 / 96 / 160 channels with ``with_last_conv=False``.)
    Params / multiply-adds at 256x256: 1.3M / 0.41G, 2.3M / 1.03G, 5.6M / 2.00G with the classifier.

    Pretrained weights: ``tools/model_converters/timm2lwmm.py`` converts timm's ``mobilevit_xxs`` /
    ``mobilevit_xs`` / ``mobilevit_s`` (copies of the authors' ml-cvnets weights) into the classifiers of
    ``configs/cls/mobilevit-*_in1k.py``. Input normalisation: images scaled to [0, 1] with no mean/std.
    timm configures its copies with mean 0, std 1 and feeds them RGB, so those configs set
    ``data_preprocessor=dict(mean=[0, 0, 0], std=[255, 255, 255], to_rgb=True)``; the authors' own
    checkpoints are fed BGR by HF transformers and mmpretrain (``to_rgb=False``).

    Args:
        arch (str | dict): ``'xx_small'``, ``'x_small'``, ``'small'``, or a dict with ``layers`` (list of
            the rows above), ``stem_channels``, ``expand_ratio`` (MV2 blocks), ``last_channels``.
        out_indices (Sequence[int]): Stages to return. Default: the last stage.
        frozen_stages (int): -1: none; 0: the stem conv; ``k``: the stem and stages ``0..k-1``, which are
            mmpretrain's ``MobileViT`` ``layers[0..k-1]`` (its ``frozen_stages=k`` freezes those but never the
            stem); 5 freezes everything, for which mmpretrain has no number.
        out_stride (int): 32 as published; 16 or 8 turn the strides of the last stages into dilation
            (MV2 depthwise convs and the local conv of MobileViT blocks; the patch size is kept).
        with_last_conv (bool): Keep the final 1x1 expansion conv. The paper's SSDLite and DeepLabV3
            drop it and use the last MobileViT block's output.
        patch_size (int): Patch size of the MobileViT blocks.
        num_heads (int): Attention heads of the transformers.
        mlp_ratio (float): FFN width over transformer width.
        drop_rate (float): Transformer dropout (0.05 for xx_small, 0.1 for x_small and small in the
            paper's ImageNet recipe).
        attn_drop_rate, ffn_drop_rate (float): Attention and inner FFN dropout.
        norm_cfg, act_cfg (dict): Norm and activation of the conv layers.
        zero_init_residual (bool): Start the last norm of each residual MV2 block at zero, so the block
            starts as identity (timm's ``zero_init_last``; the paper's reference code starts it at one).
            Helps short runs from random weights leave the chance level (docs/demos.md).
        norm_eval, with_cp, init_cfg: see ``StagedBackbone``.

    Shape:
        ``(B, 3, H, W)`` -> a tuple of ``(B, C_i, H / s_i, W / s_i)`` (rounded up) for ``i`` in
        ``out_indices``.
    """

    # out_channels, stride, num_mv2_blocks, transformer_dim, transformer_depth
    timm_weights = 'timm://mobilevit_s.cvnets_in1k'
    argument_hints = {'widen_factor': "MobileViT chooses its size by arch: arch='xx_small' | 'x_small' | 'small'"}
    arch_settings = {
        'xx_small': dict(
            stem_channels=16, expand_ratio=2, last_channels=320,
            layers=[[16, 1, 1, 0, 0], [24, 2, 3, 0, 0], [48, 2, 1, 64, 2], [64, 2, 1, 80, 4],
                    [80, 2, 1, 96, 3]]),
        'x_small': dict(
            stem_channels=16, expand_ratio=4, last_channels=384,
            layers=[[32, 1, 1, 0, 0], [48, 2, 3, 0, 0], [64, 2, 1, 96, 2], [80, 2, 1, 120, 4],
                    [96, 2, 1, 144, 3]]),
        'small': dict(
            stem_channels=16, expand_ratio=4, last_channels=640,
            layers=[[32, 1, 1, 0, 0], [64, 2, 3, 0, 0], [96, 2, 1, 144, 2], [128, 2, 1, 192, 4],
                    [160, 2, 1, 240, 3]]),
    }

    def __init__(self,
                 arch: Union[str, dict] = 'small',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (-1, ),
                 frozen_stages: int = -1,
                 out_stride: int = 32,
                 with_last_conv: bool = True,
                 patch_size: int = 2,
                 num_heads: int = 4,
                 mlp_ratio: float = 2.,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 ffn_drop_rate: float = 0.,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = False,
                 init_cfg=[
                     dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu'),
                     dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
                     dict(type='Constant', layer=['_BatchNorm', 'LayerNorm'], val=1, bias=0),
                 ]):
        super().__init__(out_indices, frozen_stages, norm_eval, with_cp, out_stride, init_cfg)
        self.zero_init_residual = zero_init_residual
        if isinstance(arch, str):
            check_choice('MobileViT', 'arch', arch, self.arch_settings)
            arch = self.arch_settings[arch]
        elif isinstance(arch, dict):
            missing = {'layers', 'stem_channels', 'expand_ratio', 'last_channels'} - set(arch)
            if missing:
                raise ValueError(f'MobileViT: a custom arch dict needs the keys {sorted(missing)}; '
                                 f'got {sorted(arch)}.')
        else:
            raise ValueError(f'MobileViT: arch={arch!r} is not supported; choose one of '
                             f'{sorted(self.arch_settings)} or pass a dict.')
        for arg, value in (('stem_channels', arch['stem_channels']), ('last_channels', arch['last_channels'])):
            check_int('MobileViT', f'arch[{arg!r}]', value)
        check_range('MobileViT', "arch['expand_ratio']", arch['expand_ratio'], 0, low_inclusive=False)
        for row in arch['layers']:
            if not isinstance(row, (list, tuple)) or len(row) != 5:
                raise ValueError(f'MobileViT: arch layer {row!r} is not supported; each row is [out_channels, '
                                 f'stride, num_mv2_blocks, transformer_dim, transformer_depth].')
            check_int('MobileViT', 'arch layer out_channels', row[0])
            check_choice('MobileViT', 'arch layer stride', row[1], (1, 2))
            check_int('MobileViT', 'arch layer num_mv2_blocks', row[2], minimum=0)
            check_int('MobileViT', 'arch layer transformer_depth', row[4], minimum=0)
            if row[4] > 0:
                check_divides('MobileViT', 'num_heads', num_heads, 'transformer_dim', row[3])
        check_int('MobileViT', 'in_channels', in_channels)
        check_int('MobileViT', 'patch_size', patch_size, hint='2 in the released models')
        check_range('MobileViT', 'mlp_ratio', mlp_ratio, 0, low_inclusive=False)
        for arg, value in (('drop_rate', drop_rate), ('attn_drop_rate', attn_drop_rate),
                           ('ffn_drop_rate', ffn_drop_rate)):
            check_range('MobileViT', arg, value, 0, 1)
        self.arch = arch
        self.in_channels = in_channels

        stages, strides, channels = [], [], []
        stem = ConvNormAct(in_channels, arch['stem_channels'], 3, stride=2, padding=1, norm_cfg=norm_cfg,
                          act_cfg=act_cfg)
        current, width, stride_total = [stem], arch['stem_channels'], 2
        for out_channels, stride, num_mv2, dim, depth in arch['layers']:
            if stride not in (1, 2):
                raise ValueError(f'MobileViT: layer stride must be 1 or 2, got {stride}.')
            if stride == 2:
                stages.append(current)
                strides.append(stride_total)
                channels.append(width)
                current, stride_total = [], stride_total * 2
            for index in range(num_mv2):
                current.append(InvertedResidual(
                    width, out_channels, stride if index == 0 else 1, arch['expand_ratio'],
                    norm_cfg=norm_cfg, act_cfg=act_cfg))
                width = out_channels
            if depth > 0:
                current.append(MobileViTBlock(
                    width, dim, int(dim * mlp_ratio), depth, num_heads, patch_size,
                    drop_rate=drop_rate, attn_drop_rate=attn_drop_rate, ffn_drop_rate=ffn_drop_rate,
                    norm_cfg=norm_cfg, act_cfg=act_cfg))
        if with_last_conv:
            current.append(ConvNormAct(width, arch['last_channels'], 1, norm_cfg=norm_cfg, act_cfg=act_cfg))
            width = arch['last_channels']
        stages.append(current)
        strides.append(stride_total)
        channels.append(width)

        self.stages = nn.ModuleList(nn.Sequential(*blocks) for blocks in stages)
        self._stage_strides = tuple(strides)
        self._stage_channels = tuple(channels)
        self._init_contract()

    @property
    def stage_strides(self):
        return self._stage_strides

    def dilated_convs(self, stage: nn.Module) -> List[nn.Conv2d]:
        """As ml-cvnets' DeepLabV3: the MV2 blocks' depthwise convs (the strided one takes ``first_dilation``)
        and the MobileViT block's local conv; fusion conv and patch size are unchanged."""
        return [block.depthwise.conv if isinstance(block, InvertedResidual) else block.conv_local.conv
                for block in stage if isinstance(block, (InvertedResidual, MobileViTBlock))]

    def residual_last_norms(self):
        return [block.project.norm for block in self.modules()
                if isinstance(block, InvertedResidual) and block.use_shortcut]
