"""Every public constructor of lwmm's layers, backbones and heads rejects bad arguments with a ValueError
whose message names the argument (and the class), never a TypeError / RuntimeError from deep inside torch.

Each row: (constructor, valid base arguments, the bad ones, text the message must contain).
"""
import math

import pytest

from lwmm.models.backbones import dy_mobilenet, dy_resnet, ghostnet, mobilevit, oct_mobilenet, oct_resnet
from lwmm.models.heads.linear_cls_head import DropoutLinearClsHead
from lwmm.models.layers import validation
from lwmm.models.layers.dfc_attention import DFCAttention
from lwmm.models.layers.dynamic_conv import ConversionRule, DynamicConv2d, convert_to_dynamic
from lwmm.models.layers.ghost import GhostBottleneck, GhostModule
from lwmm.models.layers.inverted_residual import InvertedResidual
from lwmm.models.layers.mobilevit_block import MobileViTBlock, MultiheadSelfAttention
from lwmm.models.layers.octave_conv import OctaveConv2d, OctaveConvModule
from lwmm.models.layers.se import SqueezeExcite

# tiny custom MobileViT arch: a cheap backbone to exercise the argument checks
TINY_VIT = dict(stem_channels=8, expand_ratio=2, last_channels=16,
                layers=[[8, 1, 1, 0, 0], [8, 2, 1, 0, 0], [8, 2, 1, 8, 1], [8, 2, 1, 8, 1], [8, 2, 1, 8, 1]])

LAYERS = [
    # GhostModule
    (GhostModule, dict(in_channels=4, out_channels=8), dict(in_channels=0), 'in_channels=0'),
    (GhostModule, dict(in_channels=4, out_channels=8), dict(out_channels=-3), 'out_channels=-3'),
    (GhostModule, dict(in_channels=4, out_channels=8), dict(ratio=1), 'ratio=1'),
    (GhostModule, dict(in_channels=4, out_channels=8), dict(ratio=2.5), 'ratio=2.5'),
    (GhostModule, dict(in_channels=4, out_channels=8), dict(kernel_size=2), 'kernel_size=2'),
    (GhostModule, dict(in_channels=4, out_channels=8), dict(cheap_kernel_size=0), 'cheap_kernel_size=0'),
    (GhostModule, dict(in_channels=4, out_channels=8), dict(in_channels=4.0), 'in_channels=4.0'),
    # GhostBottleneck
    (GhostBottleneck, dict(in_channels=4, mid_channels=8, out_channels=4), dict(stride=3), 'stride=3'),
    (GhostBottleneck, dict(in_channels=4, mid_channels=8, out_channels=4), dict(se_ratio=1.5), 'se_ratio=1.5'),
    (GhostBottleneck, dict(in_channels=4, mid_channels=8, out_channels=4), dict(se_ratio=-0.1), 'se_ratio=-0.1'),
    (GhostBottleneck, dict(in_channels=4, mid_channels=8, out_channels=4), dict(mid_channels=0), 'mid_channels=0'),
    (GhostBottleneck, dict(in_channels=4, mid_channels=8, out_channels=4), dict(kernel_size=4), 'kernel_size=4'),
    # DFCAttention
    (DFCAttention, dict(in_channels=4, out_channels=8), dict(kernel_size=4), 'kernel_size=4'),
    (DFCAttention, dict(in_channels=4, out_channels=8), dict(kernel_size=0), 'kernel_size=0'),
    (DFCAttention, dict(in_channels=4, out_channels=8), dict(out_channels=0), 'out_channels=0'),
    # SqueezeExcite
    (SqueezeExcite, dict(channels=8, squeeze_channels=4), dict(channels=0), 'channels=0'),
    (SqueezeExcite, dict(channels=8, squeeze_channels=4), dict(squeeze_channels=0), 'squeeze_channels=0'),
    # InvertedResidual
    (InvertedResidual, dict(in_channels=4, out_channels=4), dict(stride=0), 'stride=0'),
    (InvertedResidual, dict(in_channels=4, out_channels=4), dict(expand_ratio=0), 'expand_ratio=0'),
    (InvertedResidual, dict(in_channels=4, out_channels=4), dict(expand_ratio=0.1), 'expand_ratio=0.1'),
    (InvertedResidual, dict(in_channels=4, out_channels=4), dict(kernel_size=2), 'kernel_size=2'),
    (InvertedResidual, dict(in_channels=4, out_channels=4), dict(dilation=0), 'dilation=0'),
    (InvertedResidual, dict(in_channels=4, out_channels=4), dict(se_channels=-1), 'se_channels=-1'),
    (InvertedResidual, dict(in_channels=4, out_channels=4), dict(out_channels=0), 'out_channels=0'),
    # MobileViTBlock and its attention
    (MobileViTBlock, dict(in_channels=8, transformer_dim=8, ffn_channels=16), dict(patch_size=0), 'patch_size=0'),
    (MobileViTBlock, dict(in_channels=8, transformer_dim=8, ffn_channels=16), dict(num_heads=3), 'num_heads=3'),
    (MobileViTBlock, dict(in_channels=8, transformer_dim=8, ffn_channels=16), dict(num_heads=0), 'num_heads=0'),
    (MobileViTBlock, dict(in_channels=8, transformer_dim=8, ffn_channels=16), dict(num_layers=0), 'num_layers=0'),
    (MobileViTBlock, dict(in_channels=8, transformer_dim=8, ffn_channels=16), dict(kernel_size=2), 'kernel_size=2'),
    (MobileViTBlock, dict(in_channels=8, transformer_dim=8, ffn_channels=16), dict(drop_rate=1.0), 'drop_rate=1.0'),
    (MobileViTBlock, dict(in_channels=8, transformer_dim=8, ffn_channels=16), dict(transformer_dim=0),
     'transformer_dim=0'),
    (MultiheadSelfAttention, dict(embed_dims=8), dict(num_heads=3), 'num_heads=3'),
    # OctaveConv2d / OctaveConvModule
    (OctaveConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(alpha_in=1.0), 'alpha_in=1.0'),
    (OctaveConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(alpha_out=-0.5), 'alpha_out=-0.5'),
    (OctaveConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(stride=3), 'stride=3'),
    (OctaveConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(kernel_size=2), 'kernel_size=2'),
    (OctaveConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(groups=3), 'groups=3'),
    (OctaveConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(padding=-1, alpha_in=0, alpha_out=0),
     'padding=-1'),
    (OctaveConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(padding=0), 'padding=0'),
    (OctaveConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(in_channels=1, alpha_in=0.5),
     'alpha_in=0.5'),
    (OctaveConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(out_channels=0), 'out_channels=0'),
    # found by the property test: a vanilla depthwise layer whose out_channels groups do not divide
    (OctaveConv2d, dict(in_channels=8, out_channels=8, kernel_size=3),
     dict(in_channels=2, out_channels=1, groups=2, alpha_in=0, alpha_out=0), 'groups=2'),
    (OctaveConvModule, dict(in_channels=8, out_channels=8, kernel_size=3), dict(alpha_in=2), 'alpha_in=2'),
    (OctaveConvModule, dict(in_channels=8, out_channels=8, kernel_size=3), dict(dilation=0), 'dilation=0'),
    # DynamicConv2d (it checks its attention's arguments too)
    (DynamicConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(K=0), 'K=0'),
    (DynamicConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(reduction=0), 'reduction=0'),
    (DynamicConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(groups=3), 'groups=3'),
    (DynamicConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(temperature=0), 'temperature=0'),
    (DynamicConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(kernel_size=0), 'kernel_size=0'),
    (DynamicConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(stride=0), 'stride=0'),
    (DynamicConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(padding=-1), 'padding=-1'),
    (DynamicConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(dilation=(1, 0)), 'dilation=0'),
    (DynamicConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(in_channels=0), 'in_channels=0'),
    (DynamicConv2d, dict(in_channels=8, out_channels=8, kernel_size=3), dict(temperature=-1.0), 'temperature=-1.0'),
    (ConversionRule, dict(), dict(skip_first=-1), 'skip_first=-1'),
    (ConversionRule, dict(), dict(exclude='stem'), 'exclude'),
]

BACKBONES = [
    # GhostNet / GhostNetV2
    (ghostnet.GhostNet, dict(widen_factor=0.1), dict(widen_factor=0), 'widen_factor=0'),
    (ghostnet.GhostNet, dict(widen_factor=0.1), dict(widen_factor=-1.0), 'widen_factor=-1.0'),
    (ghostnet.GhostNet, dict(widen_factor=0.1), dict(widen_factor=math.inf), 'widen_factor=inf'),
    (ghostnet.GhostNet, dict(widen_factor=0.1), dict(widen_factor='1.0x'), "widen_factor='1.0x'"),
    (ghostnet.GhostNet, dict(widen_factor=0.1), dict(out_indices=(5, )), 'out_indices'),
    (ghostnet.GhostNet, dict(widen_factor=0.1), dict(out_indices=()), 'out_indices'),
    (ghostnet.GhostNet, dict(widen_factor=0.1), dict(frozen_stages=6), 'frozen_stages=6'),
    (ghostnet.GhostNet, dict(widen_factor=0.1), dict(frozen_stages=-2), 'frozen_stages=-2'),
    (ghostnet.GhostNet, dict(widen_factor=0.1), dict(out_stride=4), 'out_stride=4'),
    (ghostnet.GhostNetV2, dict(widen_factor=0.1), dict(out_stride=64), 'out_stride=64'),
    (ghostnet.GhostNetV2, dict(widen_factor=0.1), dict(out_indices=(-6, )), 'out_indices'),
    # MobileViT
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(arch='tiny'), "arch='tiny'"),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(arch=3), 'arch=3'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(arch=dict(layers=[])), 'stem_channels'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(arch=dict(TINY_VIT, expand_ratio=0)), 'expand_ratio'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(arch=dict(TINY_VIT, layers=[[8, 3, 1, 0, 0]])),
     'stride=3'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(arch=dict(TINY_VIT, layers=[[8, 1, 1]])), 'arch layer'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(patch_size=0), 'patch_size=0'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(num_heads=3), 'num_heads=3'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(mlp_ratio=0), 'mlp_ratio=0'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(drop_rate=-0.1), 'drop_rate=-0.1'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(in_channels=0), 'in_channels=0'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(out_indices=(5, )), 'out_indices'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(frozen_stages=7), 'frozen_stages=7'),
    (mobilevit.MobileViT, dict(arch=TINY_VIT), dict(out_stride=2), 'out_stride=2'),
    # OctResNet
    (oct_resnet.OctResNet, dict(depth=26, stem_channels=8), dict(depth=34), 'depth=34'),
    (oct_resnet.OctResNet, dict(depth=26, stem_channels=8), dict(alpha=1.0), 'alpha=1.0'),
    (oct_resnet.OctResNet, dict(depth=26, stem_channels=8), dict(alpha=-0.25), 'alpha=-0.25'),
    (oct_resnet.OctResNet, dict(depth=26, stem_channels=8), dict(stem_channels=0), 'stem_channels=0'),
    (oct_resnet.OctResNet, dict(depth=26, stem_channels=8), dict(out_indices=(4, )), 'out_indices'),
    (oct_resnet.OctResNet, dict(depth=26, stem_channels=8), dict(frozen_stages=5), 'frozen_stages=5'),
    (oct_resnet.OctResNet, dict(depth=26, stem_channels=8), dict(out_stride=4), 'out_stride=4'),
    # OctMobileNetV2
    (oct_mobilenet.OctMobileNetV2, dict(widen_factor=0.25), dict(widen_factor=0), 'widen_factor=0'),
    (oct_mobilenet.OctMobileNetV2, dict(widen_factor=0.25), dict(widen_factor=True), 'widen_factor=True'),
    (oct_mobilenet.OctMobileNetV2, dict(widen_factor=0.25), dict(alpha=1), 'alpha=1'),
    (oct_mobilenet.OctMobileNetV2, dict(widen_factor=0.25), dict(out_indices=(5, )), 'out_indices'),
    (oct_mobilenet.OctMobileNetV2, dict(widen_factor=0.25), dict(out_stride=12), 'out_stride=12'),
    # DY networks
    (dy_mobilenet.DYMobileNetV2, dict(widen_factor=0.1), dict(widen_factor=0), 'widen_factor=0'),
    (dy_mobilenet.DYMobileNetV2, dict(widen_factor=0.1), dict(K=0), 'K=0'),
    (dy_mobilenet.DYMobileNetV2, dict(widen_factor=0.1), dict(K=2.0), 'K=2.0'),
    (dy_mobilenet.DYMobileNetV2, dict(widen_factor=0.1), dict(reduction=0), 'reduction=0'),
    (dy_mobilenet.DYMobileNetV2, dict(widen_factor=0.1), dict(temperature=0), 'temperature=0'),
    (dy_mobilenet.DYMobileNetV2, dict(widen_factor=0.1), dict(frozen_stages=6), 'frozen_stages=6'),
    (dy_mobilenet.DYMobileNetV2, dict(widen_factor=0.1), dict(rule=3), 'rule=3'),
    (dy_mobilenet.DYMobileNetV3, dict(), dict(arch='medium'), "arch='medium'"),
    (dy_mobilenet.DYMobileNetV3, dict(), dict(K=-1), 'K=-1'),
    (dy_resnet.DYResNet, dict(depth=10), dict(depth=50), 'depth=50'),
    (dy_resnet.DYResNet, dict(depth=10), dict(reduction=0), 'reduction=0'),
    (dy_resnet.DYResNet, dict(depth=10), dict(out_indices=(4, )), 'out_indices'),
    (dy_mobilenet.DynamicConvBackbone, dict(backbone=dict(type='lwmm.DYResNet', depth=10)), dict(backbone='resnet'),
     "backbone='resnet'"),
    (dy_mobilenet.DynamicConvBackbone, dict(backbone=dict(type='lwmm.DYResNet', depth=10)), dict(K=0), 'K=0'),
    # heads
    (DropoutLinearClsHead, dict(num_classes=4, in_channels=8, loss=dict(type='mmpretrain.CrossEntropyLoss')),
     dict(dropout_rate=1.0), 'dropout_rate=1.0'),
]

CASES = LAYERS + BACKBONES
# classes whose arguments are checked by the part they build
DELEGATED = dict(OctaveConvModule='OctaveConv2d', DYMobileNetV2='DynamicConv2d', DYMobileNetV3='DynamicConv2d',
                 DYResNet='DynamicConv2d', DynamicConvBackbone='DynamicConv2d')


def _case_id(case):
    cls, _, bad, _ = case
    return f'{cls.__name__}-' + '-'.join(f'{k}={v!r}' for k, v in bad.items())[:60]


@pytest.mark.parametrize('case', CASES, ids=[_case_id(c) for c in CASES])
def test_bad_argument_raises_value_error_naming_it(case):
    cls, base, bad, expected = case
    with pytest.raises(ValueError) as error:
        cls(**dict(base, **bad))
    message = str(error.value)
    assert expected in message, message
    # the module at fault is named: the class itself, or the part it hands the argument to
    owners = {cls.__name__, DELEGATED.get(cls.__name__), 'convert_to_dynamic' if 'rule' in bad else None}
    assert any(owner and message.startswith(owner + ':') for owner in owners), message


def _distinct_bases():
    seen = {}
    for cls, base, _, _ in CASES:
        seen.setdefault((cls.__name__, repr(base)), (cls, base))
    return list(seen.values())


@pytest.mark.parametrize('cls, base', _distinct_bases(), ids=lambda v: getattr(v, '__name__', None))
def test_base_arguments_are_valid(cls, base):
    """Each table row changes only the bad arguments of a constructor call that works."""
    cls(**dict(base))


def test_convert_to_dynamic_rejects_bad_rule():
    import torch.nn as nn
    with pytest.raises(ValueError, match='rule=3'):
        convert_to_dynamic(nn.Sequential(nn.Conv2d(3, 3, 3)), rule=3)


@pytest.mark.parametrize('check, args, text', [
    (validation.check_int, ('X', 'n', True), "n=True is not supported; use a positive int"),
    (validation.check_int, ('X', 'n', -1, 0), 'use an int >= 0'),
    (validation.check_odd, ('X', 'k', 4), 'positive odd int'),
    (validation.check_range, ('X', 'a', 1.0, 0, 1), 'use a number in [0, 1)'),
    (validation.check_range, ('X', 'a', 0, 0, None, False), 'use a number > 0'),
    (validation.check_range, ('X', 'a', float('nan'), 0, 1), 'a=nan'),
    (validation.check_choice, ('X', 'c', 'z', ('b', 'a')), "c='z' is not supported; choose one of ['a', 'b']"),
    (validation.check_choice, ('X', 'c', [1], {1: 0}), 'c=[1]'),
    (validation.check_divides, ('X', 'g', 3, 'channels', 8), 'g=3 is not supported; it must divide channels=8'),
    (validation.check_widen_factor, (0, 'widen_factor', 'X', (0.5, 1.0)),
     'widen_factor=0 is not supported; use a positive number (published: 0.5, 1.0)'),
    (validation.check_widen_factor, (True, 'widen_factor', 'X'), 'widen_factor=True is not supported'),
    (validation.check_widen_factor, (math.inf, 'width', 'X'), 'width=inf'),
    (validation.check_widen_factor, ('1.0x', 'widen_factor', 'X'), "widen_factor='1.0x'"),
])
def test_validation_helpers_messages(check, args, text):
    with pytest.raises(ValueError) as error:
        check(*args)
    assert text in str(error.value)
    assert str(error.value).startswith('X: ')


BACKBONES = (ghostnet.GhostNet, ghostnet.GhostNetV2, mobilevit.MobileViT, dy_mobilenet.DYMobileNetV2,
             dy_mobilenet.DYMobileNetV3, dy_mobilenet.DynamicConvBackbone, dy_resnet.DYResNet,
             oct_mobilenet.OctMobileNetV2, oct_resnet.OctResNet)


@pytest.mark.parametrize('cls', BACKBONES, ids=lambda cls: cls.__name__)
def test_unknown_keywords_name_the_class_and_the_fix(cls):
    """Checked before __init__: the class's own name (GhostNetV2, not GhostNet), each key's fix, what it takes."""
    accepted = validation.accepted_keywords(cls)
    typo = accepted[0] + 'x'
    with pytest.raises(validation.UnexpectedArgumentError) as error:
        cls(**{typo: 1, 'num_stages': 4, 'pretrained': 'open-mmlab://resnet50_v1c'})
    message = str(error.value)
    assert isinstance(error.value, TypeError)  # callers catching TypeError still do
    assert message.startswith(f'{cls.__name__} got keyword arguments it does not take ({typo}, num_stages, pretrained)')
    assert f'{typo}: did you mean {accepted[0]}?' in message
    assert "num_stages: the old backbone's keys were merged in: add _delete_=True to the backbone dict " \
           f"(model.backbone=dict(_delete_=True, type='lwmm.{cls.__name__}'" in message
    checkpoint = cls.timm_weights or 'timm://<model>.<tag>'
    assert (f'pretrained: {cls.__name__} loads weights through init_cfg, not pretrained= (mmseg passes '
            "model.pretrained into the backbone): set model.pretrained=None and model.backbone.init_cfg="
            f"dict(type='Pretrained', checkpoint='{checkpoint}', prefix='backbone.')") in message
    assert message.endswith(f'{cls.__name__} takes: {", ".join(accepted)}.')


def test_family_hints_and_plain_misses():
    with pytest.raises(TypeError, match="widen_factor: MobileViT chooses its size by arch: arch='xx_small'"):
        mobilevit.MobileViT(widen_factor=0.5)
    with pytest.raises(TypeError, match=r'arch: GhostNet and GhostNetV2 choose their size by widen_factor'):
        ghostnet.GhostNetV2(arch='small')
    with pytest.raises(TypeError, match='zzz: not an argument of GhostNetV2\n'):
        ghostnet.GhostNetV2(zzz=1)
    assert validation.did_you_mean('ghostnetv2', ['GhostNet', 'GhostNetV2']) == 'GhostNetV2'
    assert validation.did_you_mean('Probe', ['Probe']) is None  # the name itself is no suggestion
