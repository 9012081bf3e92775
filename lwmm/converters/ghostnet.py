"""timm ``ghostnet_*`` / ``ghostnetv2_*`` -> lwmm GhostNet / GhostNetV2 classifiers.

The classifier is the shipped config's (configs/_base_/models/ghostnet_cls.py, widths in configs/cls/):
mmpretrain's ``ImageClassifier`` with the lwmm backbone, ``GlobalAveragePooling`` and
``StackedLinearClsHead(mid_channels=[1280])``, whose first linear layer is timm's ``conv_head`` (a 1x1
conv with bias on the pooled features) and whose second is timm's ``classifier``.
"""
import re
from typing import Dict, List, Optional, Tuple

import torch

from . import check_converted, register_timm_converter

#: timm name -> (backbone type, widen factor, config under configs/)
GHOSTNET_MODELS = {
    'ghostnet_050': ('GhostNet', 0.5, 'cls/ghostnet-0.5x_in1k.py'),
    'ghostnet_100': ('GhostNet', 1.0, 'cls/ghostnet-1.0x_in1k.py'),
    'ghostnet_130': ('GhostNet', 1.3, 'cls/ghostnet-1.3x_in1k.py'),
    'ghostnetv2_100': ('GhostNetV2', 1.0, 'cls/ghostnetv2-1.0x_in1k.py'),
    'ghostnetv2_130': ('GhostNetV2', 1.3, 'cls/ghostnetv2-1.3x_in1k.py'),
    'ghostnetv2_160': ('GhostNetV2', 1.6, 'cls/ghostnetv2-1.6x_in1k.py'),
}

HEAD_CHANNELS = 1280
NUM_CLASSES = 1000


def _model(timm_name: str) -> Tuple[str, float, str]:
    if timm_name not in GHOSTNET_MODELS:
        raise ValueError(f'{timm_name!r} is not a GhostNet model; known: {", ".join(GHOSTNET_MODELS)}.')
    return GHOSTNET_MODELS[timm_name]


def _backbone(timm_name: str):
    from lwmm.models.backbones.ghostnet import GhostNet, GhostNetV2
    backbone_type, widen_factor, _ = _model(timm_name)
    return {'GhostNet': GhostNet, 'GhostNetV2': GhostNetV2}[backbone_type], widen_factor


def _block_prefixes(backbone_cls) -> Dict[str, str]:
    """timm ``blocks.i.j.`` -> lwmm ``backbone.stages.s.p.`` for every bottleneck and the final conv.

    timm groups the bottleneck rows as the official code does (one ``blocks.i`` per row, except the
    112- and 160-channel runs after the first row of a stride), lwmm by stride; both follow the table
    row by row, so rows are matched in order.
    """
    timm_groups = [1, 1, 1, 1, 1, 1, 5, 1, 4]
    assert sum(timm_groups) == len(backbone_cls.arch_settings)
    timm_rows = [f'blocks.{i}.{j}.' for i, size in enumerate(timm_groups) for j in range(size)]
    lwmm_rows, stage, position = [], 0, 1  # position 0 of stage 0 is the stem
    for row in backbone_cls.arch_settings:
        if row[-1] > 1:
            stage, position = stage + 1, 0
        lwmm_rows.append(f'backbone.stages.{stage}.{position}.')
        position += 1
    prefixes = dict(zip(timm_rows, lwmm_rows))
    prefixes[f'blocks.{len(timm_groups)}.0.'] = f'backbone.stages.{stage}.{position}.'
    return prefixes


#: inside a block (after the prefix): timm name -> lwmm name
_BLOCK_RULES: List[Tuple[str, str]] = [
    (r'^(ghost[12])\.primary_conv\.0\.', r'\1.primary.conv.'),
    (r'^(ghost[12])\.primary_conv\.1\.', r'\1.primary.bn.'),
    (r'^(ghost[12])\.cheap_operation\.0\.', r'\1.cheap.conv.'),
    (r'^(ghost[12])\.cheap_operation\.1\.', r'\1.cheap.bn.'),
    (r'^ghost1\.short_conv\.0\.', 'ghost1.dfc.proj.conv.'),
    (r'^ghost1\.short_conv\.1\.', 'ghost1.dfc.proj.bn.'),
    (r'^ghost1\.short_conv\.2\.', 'ghost1.dfc.horizontal.conv.'),
    (r'^ghost1\.short_conv\.3\.', 'ghost1.dfc.horizontal.bn.'),
    (r'^ghost1\.short_conv\.4\.', 'ghost1.dfc.vertical.conv.'),
    (r'^ghost1\.short_conv\.5\.', 'ghost1.dfc.vertical.bn.'),
    (r'^conv_dw\.', 'depthwise.conv.'),
    (r'^bn_dw\.', 'depthwise.bn.'),
    (r'^se\.conv_reduce\.', 'se.squeeze.'),
    (r'^se\.conv_expand\.', 'se.excite.'),
    (r'^shortcut\.0\.', 'shortcut.0.conv.'),
    (r'^shortcut\.1\.', 'shortcut.0.bn.'),
    (r'^shortcut\.2\.', 'shortcut.1.conv.'),
    (r'^shortcut\.3\.', 'shortcut.1.bn.'),
    (r'^conv\.', 'conv.'),  # the final ConvBnAct
    (r'^bn1\.', 'bn.'),
]


def _rename(key: str, prefixes: Dict[str, str]) -> Optional[str]:
    if key.startswith('conv_stem.'):
        return 'backbone.stages.0.0.conv.' + key[len('conv_stem.'):]
    if key.startswith('bn1.'):
        return 'backbone.stages.0.0.bn.' + key[len('bn1.'):]
    if key.startswith('conv_head.'):
        return 'head.layers.0.fc.' + key[len('conv_head.'):]
    if key.startswith('classifier.'):
        return 'head.layers.1.fc.' + key[len('classifier.'):]
    match = re.match(r'^blocks\.\d+\.\d+\.', key)
    if match and match.group(0) in prefixes:
        rest = key[match.end():]
        for pattern, repl in _BLOCK_RULES:
            new_rest, hits = re.subn(pattern, repl, rest)
            if hits:
                return prefixes[match.group(0)] + new_rest
    return None


def _expected_shapes(timm_name: str) -> Dict[str, torch.Size]:
    backbone_cls, widen_factor = _backbone(timm_name)
    backbone = backbone_cls(widen_factor=widen_factor, init_cfg=None)
    shapes = {f'backbone.{k}': v.shape for k, v in backbone.state_dict().items()}
    in_channels = backbone.stage_channels[-1]
    shapes.update({
        'head.layers.0.fc.weight': torch.Size([HEAD_CHANNELS, in_channels]),
        'head.layers.0.fc.bias': torch.Size([HEAD_CHANNELS]),
        'head.layers.1.fc.weight': torch.Size([NUM_CLASSES, HEAD_CHANNELS]),
        'head.layers.1.fc.bias': torch.Size([NUM_CLASSES]),
    })
    return shapes


@register_timm_converter(*GHOSTNET_MODELS, config=lambda name: GHOSTNET_MODELS[name][2],
                         backbones=lambda name: [dict(type=GHOSTNET_MODELS[name][0],
                                                      widen_factor=GHOSTNET_MODELS[name][1])])
def convert_ghostnet(timm_name: str, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Convert the ``state_dict`` of timm's ``timm_name`` to the lwmm classifier's (strict load).

    Raises ValueError when the state dict is not of that model: keys no rule maps, keys missing or left
    over, or shapes that differ from the lwmm model's.
    """
    if 'state_dict' in state_dict and isinstance(state_dict['state_dict'], dict):
        state_dict = state_dict['state_dict']
    prefixes = _block_prefixes(_backbone(timm_name)[0])
    out, unmapped = {}, []
    for key, value in state_dict.items():
        if key.endswith(('total_ops', 'total_params')):  # counters that profilers leave in some checkpoints
            continue
        new_key = _rename(key, prefixes)
        if new_key is None:
            unmapped.append(key)
            continue
        if new_key == 'head.layers.0.fc.weight' and value.dim() == 4:
            value = value.flatten(1)
        out[new_key] = value
    check_converted(out, _expected_shapes(timm_name), f'timm {timm_name!r} (lwmm '
                    f'{GHOSTNET_MODELS[timm_name][0]} widen_factor={GHOSTNET_MODELS[timm_name][1]})', unmapped=unmapped)
    return out
