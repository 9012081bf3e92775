"""timm ``mobilevit_xxs`` / ``mobilevit_xs`` / ``mobilevit_s`` -> lwmm MobileViT ``ImageClassifier``, the
model of configs/cls/mobilevit-*_in1k.py (backbone, global average pooling, dropout 0.1, linear layer).

timm builds MobileViT with its ByobNet: ``stem``, ``stages.0..4`` (stride 2..32, the stem is outside),
``final_conv`` and ``head.fc``. lwmm groups the stem into stage 0 and the final conv into stage 4, so
timm's ``stages.0.j`` is lwmm's ``stages.0.{j+1}`` and ``final_conv`` follows the last block of stage 4.

Input normalisation: timm's copies of the authors' weights are configured for images in [0, 1] with
mean 0 and std 1 (timm feeds RGB). The lwmm configs that these weights load into (``configs/cls/
mobilevit-*_in1k.py``) therefore set ``data_preprocessor=dict(mean=[0, 0, 0], std=[255, 255, 255],
to_rgb=True)``. The authors' own ml-cvnets checkpoints are read as BGR (the ports of HF transformers and
mmpretrain feed them BGR, ``to_rgb=False``); use that setting only for weights taken from there.
"""
import re
from typing import Dict

import torch

from . import KeyMapper, check_converted, register_timm_converter

#: timm name -> (lwmm arch, config under configs/)
MOBILEVIT_MODELS = {
    'mobilevit_xxs': ('xx_small', 'cls/mobilevit-xxs_in1k.py'),
    'mobilevit_xs': ('x_small', 'cls/mobilevit-xs_in1k.py'),
    'mobilevit_s': ('small', 'cls/mobilevit-s_in1k.py'),
}
NUM_CLASSES = 1000

_LAYER_RULES = [
    # ConvNormAct (timm) and ConvModule (mmcv) both name their parts conv / bn
    (r'^conv1_1x1\.', 'expand.'),
    (r'^conv2_kxk\.', 'depthwise.'),
    (r'^conv3_1x1\.', 'project.'),
    (r'^conv_kxk\.', 'conv_local.'),
    (r'^conv_1x1\.', 'conv_in.'),
    (r'^conv_proj\.', 'conv_out.'),
    (r'^conv_fusion\.', 'conv_fusion.'),
    (r'^(transformer\.\d+)\.mlp\.fc1\.', r'\1.ffn.0.'),
    (r'^(transformer\.\d+)\.mlp\.fc2\.', r'\1.ffn.3.'),
    (r'^(transformer\.\d+\.(norm1|norm2|attn\.qkv|attn\.proj))\.', r'\1.'),
    (r'^norm\.', 'norm.'),
]


def _block_key(stage: int, block: int, rest: str) -> str:
    for pattern, repl in _LAYER_RULES:
        new_rest, hits = re.subn(pattern, repl, rest)
        if hits:
            return f'backbone.stages.{stage}.{block}.{new_rest}'
    raise ValueError(f'no rule maps the block parameter {rest!r} of timm stages.{stage}.{block}.')


def _arch(timm_name: str) -> str:
    if timm_name not in MOBILEVIT_MODELS:
        raise ValueError(f'{timm_name!r} is not a MobileViT model; known: {", ".join(MOBILEVIT_MODELS)}.')
    return MOBILEVIT_MODELS[timm_name][0]


def _arch_settings(timm_name: str) -> dict:
    """The arch table row that an lwmm MobileViT of this model keeps as ``backbone.arch``."""
    from lwmm.models.backbones.mobilevit import MobileViT
    return MobileViT.arch_settings[_arch(timm_name)]


def _expected_shapes(timm_name: str) -> Dict[str, torch.Size]:
    from lwmm.models.backbones.mobilevit import MobileViT
    backbone = MobileViT(arch=_arch(timm_name), init_cfg=None)
    shapes = {f'backbone.{k}': v.shape for k, v in backbone.state_dict().items()}
    channels = backbone.stage_channels[-1]
    shapes.update({'head.fc.weight': torch.Size([NUM_CLASSES, channels]),
                   'head.fc.bias': torch.Size([NUM_CLASSES])})
    return shapes


@register_timm_converter(*MOBILEVIT_MODELS, config=lambda name: MOBILEVIT_MODELS[name][1],
                         backbones=lambda name: [dict(type='MobileViT', arch=_arch_settings(name))])
def convert_mobilevit(timm_name: str, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename timm MobileViT keys to lwmm ``ImageClassifier`` keys (loadable with ``strict=True``).

    Raises ValueError when ``state_dict`` is not of ``timm_name``: keys no rule maps, keys missing or
    left over, or shapes that differ (e.g. another width). A classifier with another number of classes
    than 1000 is reported as wrong ``head.fc`` shapes.
    """
    if 'state_dict' in state_dict and isinstance(state_dict['state_dict'], dict):
        state_dict = state_dict['state_dict']
    _arch(timm_name)
    if not any(k.startswith('stages.') for k in state_dict):
        raise ValueError(f'the state dict has no timm MobileViT stages: is it of {timm_name!r}?')
    last_stage = max(int(k.split('.')[1]) for k in state_dict if k.startswith('stages.'))
    last_blocks = {int(k.split('.')[2]) for k in state_dict if k.startswith(f'stages.{last_stage}.')}
    final_index = max(last_blocks) + 1

    def stage_rule(match):
        stage, block, rest = int(match.group(1)), int(match.group(2)), match.group(3)
        return _block_key(stage, block + 1 if stage == 0 else block, rest)

    mapper = KeyMapper([
        (r'^stem\.', 'backbone.stages.0.0.'),
        (r'^stages\.(\d+)\.(\d+)\.(.+)$', stage_rule),
        (r'^final_conv\.', f'backbone.stages.{last_stage}.{final_index}.'),
        (r'^head\.fc\.', 'head.fc.'),
    ])
    out = mapper(state_dict)
    check_converted(out, _expected_shapes(timm_name),
                    f'timm {timm_name!r} (lwmm MobileViT arch={MOBILEVIT_MODELS[timm_name][0]!r})')
    return out
