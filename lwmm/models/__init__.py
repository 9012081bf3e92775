"""lwmm's models: backbones, their building blocks and the few heads OpenMMLab lacks.

``from lwmm.models import GhostNetV2`` imports any name in ``__all__``. The heads (``SSDHead``,
``DropoutLinearClsHead``) extend mmdet's / mmpretrain's and are imported on first access, so importing
this package imports neither codebase.
"""
from . import backbones, heads, layers  # noqa: F401
from .backbones.base import StagedBackbone
from .backbones.dy_mobilenet import DynamicConvBackbone, DYMobileNetV2, DYMobileNetV3
from .backbones.dy_resnet import DYResNet
from .backbones.ghostnet import GhostNet, GhostNetV2
from .backbones.mobilevit import MobileViT
from .backbones.oct_mobilenet import OctInvertedResidual, OctMobileNetV2
from .backbones.oct_resnet import OctBottleneck, OctResNet
from .layers.conv_norm_act import ConvNormAct
from .layers.dfc_attention import DFCAttention
from .layers.dynamic_conv import ConversionRule, DynamicConv2d, KernelAttention, convert_to_dynamic
from .layers.ghost import GhostBottleneck, GhostModule
from .layers.inverted_residual import InvertedResidual
from .layers.mobilevit_block import MobileViTBlock, MultiheadSelfAttention, TransformerLayer
from .layers.octave_conv import OctaveConv2d, OctaveConvModule
from .layers.se import SqueezeExcite
from .layers.utils import make_divisible

__all__ = [
    # backbones
    'StagedBackbone', 'GhostNet', 'GhostNetV2', 'MobileViT', 'OctResNet', 'OctMobileNetV2', 'DYMobileNetV2',
    'DYMobileNetV3', 'DYResNet', 'DynamicConvBackbone',
    # blocks and layers
    'ConvNormAct', 'DFCAttention', 'GhostModule', 'GhostBottleneck', 'InvertedResidual', 'SqueezeExcite',
    'MultiheadSelfAttention', 'TransformerLayer', 'MobileViTBlock', 'OctaveConv2d', 'OctaveConvModule',
    'OctBottleneck', 'OctInvertedResidual', 'KernelAttention', 'DynamicConv2d', 'ConversionRule',
    'convert_to_dynamic', 'make_divisible',
]


def __getattr__(name: str):
    if name in heads.DEFERRED:
        return getattr(heads, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
