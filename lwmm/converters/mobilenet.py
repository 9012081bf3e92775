"""timm ``mobilenetv2_*`` / ``mobilenetv3_*`` -> the static layout of lwmm's DY-MobileNetV2 / V3 (and of
Oct-MobileNetV2, whose octave layers ``octconv`` slices from it).

The DY-CNN paper has no public weights; its networks start from the static twin's ImageNet weights:
``DynamicConv2d`` copies each static kernel into its K kernels, so the DY network computes the static
one exactly at any attention (the attention layers keep their initialisation).

timm (``EfficientNet`` / ``MobileNetV3`` classes) names the stem ``conv_stem`` / ``bn1``, the blocks
``blocks.<row>.<i>`` (depthwise-separable: ``conv_dw``, ``bn1``, ``se``, ``conv_pw``, ``bn2``; inverted
residual: ``conv_pw``, ``bn1``, ``conv_dw``, ``bn2``, ``se``, ``conv_pwl``, ``bn3``; MobileNetV3's final
1x1 ``conv`` / ``bn1``), MobileNetV2's final 1x1 conv ``conv_head`` / ``bn2``, and the classifier
(MobileNetV3: ``conv_head`` with bias on the pooled features, then ``classifier``). Both list the blocks
in the order of the paper's table, as lwmm does, so blocks are matched in order.

Normalisation the weights expect: ImageNet mean/std on RGB (timm's ``mobilenetv2_100.ra_in1k``,
``mobilenetv3_*_100``), BatchNorm eps 1e-5 (lwmm's DY-MobileNetV3 default is mmpretrain's 1e-3: set
``norm_cfg=dict(type='BN', eps=1e-5)`` for an exact start).
"""
import re
from typing import Dict, List, Tuple

import torch

from . import check_converted, register_timm_converter, static_layout

#: timm name -> (lwmm backbone, its arguments, whether timm's head is the lwmm classifier's head). The
#: converted weights start a DY backbone (the attention layers are new), so no lwmm classifier config
#: loads them strictly: they reach models through ``timm://`` or a Pretrained init_cfg.
MOBILENET_MODELS = {
    'mobilenetv2_035': ('DYMobileNetV2', dict(widen_factor=0.35), True),
    'mobilenetv2_050': ('DYMobileNetV2', dict(widen_factor=0.5), True),
    'mobilenetv2_075': ('DYMobileNetV2', dict(widen_factor=0.75), True),
    'mobilenetv2_100': ('DYMobileNetV2', dict(widen_factor=1.0), True),
    # timm's MobileNetV3-Small head is 1024 wide, the DY paper's 1280: backbone weights only
    'mobilenetv3_small_100': ('DYMobileNetV3', dict(arch='small'), False),
    'mobilenetv3_large_100': ('DYMobileNetV3', dict(arch='large'), True),
}


def _backbones(name: str) -> List[dict]:
    backbone_type, args, _ = MOBILENET_MODELS[name]
    specs = [dict(type=backbone_type, **args)]
    if backbone_type == 'DYMobileNetV2':
        specs.append(dict(type='OctMobileNetV2', **args))
    return specs


def _build(name: str):
    from lwmm.models.backbones import dy_mobilenet
    backbone_type, args, _ = MOBILENET_MODELS[name]
    return getattr(dy_mobilenet, backbone_type)(**args)


def _block_rules(keys) -> List[Tuple[str, str]]:
    """Renames inside one timm block, by the kind of block its keys show."""
    se = [(r'^se\.conv_reduce\.', 'se.squeeze.'), (r'^se\.conv_expand\.', 'se.excite.')]
    if any(k.startswith('conv_pwl.') for k in keys):  # inverted residual
        return se + [(r'^conv_pw\.', 'expand.conv.'), (r'^bn1\.', 'expand.bn.'), (r'^conv_dw\.', 'depthwise.conv.'),
                     (r'^bn2\.', 'depthwise.bn.'), (r'^conv_pwl\.', 'project.conv.'), (r'^bn3\.', 'project.bn.')]
    if any(k.startswith('conv_dw.') for k in keys):  # depthwise separable
        return se + [(r'^conv_dw\.', 'depthwise.conv.'), (r'^bn1\.', 'depthwise.bn.'),
                     (r'^conv_pw\.', 'project.conv.'), (r'^bn2\.', 'project.bn.')]
    return [(r'^conv\.', 'conv.'), (r'^bn1\.', 'bn.')]  # the final 1x1 ConvBnAct


def _lwmm_blocks(backbone) -> List[str]:
    """``backbone.stages.s.p`` of every module after the stem, in order."""
    return [f'backbone.stages.{s}.{p}' for s, stage in enumerate(backbone.stages)
            for p in range(len(stage)) if (s, p) != (0, 0)]


@register_timm_converter(*MOBILENET_MODELS, config=lambda name: None, backbones=_backbones)
def convert_mobilenet(timm_name: str, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename timm MobileNetV2 / V3 keys to the static layout of lwmm's DY-MobileNetV2 / V3 classifier.

    Raises ValueError when ``state_dict`` is not of ``timm_name`` (keys that no rule maps, keys missing or
    left over, shapes of another width).
    """
    backbone_type, args, with_head = MOBILENET_MODELS[timm_name]
    backbone = _build(timm_name)
    targets = _lwmm_blocks(backbone)
    blocks: Dict[Tuple[int, int], Dict[str, torch.Tensor]] = {}
    out, unmapped = {}, []
    for key, value in state_dict.items():
        match = re.match(r'^blocks\.(\d+)\.(\d+)\.(.+)$', key)
        if match:
            blocks.setdefault((int(match.group(1)), int(match.group(2))), {})[match.group(3)] = value
        elif key.startswith('conv_stem.'):
            out['backbone.stages.0.0.conv.' + key[len('conv_stem.'):]] = value
        elif key.startswith('bn1.'):
            out['backbone.stages.0.0.bn.' + key[len('bn1.'):]] = value
        elif backbone_type == 'DYMobileNetV2' and key.startswith('conv_head.'):
            out[f'{targets[-1]}.conv.' + key[len('conv_head.'):]] = value
        elif backbone_type == 'DYMobileNetV2' and key.startswith('bn2.'):
            out[f'{targets[-1]}.bn.' + key[len('bn2.'):]] = value
        elif backbone_type == 'DYMobileNetV2' and key.startswith('classifier.'):
            out['head.fc.' + key[len('classifier.'):]] = value
        elif backbone_type == 'DYMobileNetV3' and key.startswith(('conv_head.', 'classifier.')):
            if with_head:
                layer = 0 if key.startswith('conv_head.') else 1
                value = value.flatten(1) if key.endswith('weight') else value
                out[f'head.layers.{layer}.fc.' + key.split('.', 1)[1]] = value
        else:
            unmapped.append(key)
    order = sorted(blocks)
    # MobileNetV2's final conv is conv_head, outside the blocks; MobileNetV3's is the last block
    block_targets = targets[:-1] if backbone_type == 'DYMobileNetV2' else targets
    if len(order) != len(block_targets):
        raise ValueError(f'the state dict does not match timm {timm_name!r}: it has {len(order)} blocks, '
                         f'lwmm {backbone_type}({args}) {len(block_targets)}.')
    for index, target in zip(order, block_targets):
        rules = _block_rules(blocks[index])
        for rest, value in blocks[index].items():
            for pattern, repl in rules:
                new_rest, hits = re.subn(pattern, repl, rest)
                if hits:
                    out[f'{target}.{new_rest}'] = value
                    break
            else:
                unmapped.append('blocks.{}.{}.{}'.format(*index, rest))
    expected = {f'backbone.{k}': v for k, v in static_layout(backbone).items()}
    if backbone_type == 'DYMobileNetV2':
        expected.update({'head.fc.weight': torch.Size([1000, backbone.stage_channels[-1]]),
                         'head.fc.bias': torch.Size([1000])})
    elif with_head:
        expected.update({'head.layers.0.fc.weight': torch.Size([1280, backbone.stage_channels[-1]]),
                         'head.layers.0.fc.bias': torch.Size([1280]),
                         'head.layers.1.fc.weight': torch.Size([1000, 1280]),
                         'head.layers.1.fc.bias': torch.Size([1000])})
    check_converted(out, expected, f'timm {timm_name!r} (lwmm {backbone_type} {args})', unmapped)
    return out
