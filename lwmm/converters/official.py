"""The authors' release formats, renamed to timm's keys (from which one key map per family goes on to lwmm).

- Huawei's GhostNet / GhostNetV2 (github.com/huawei-noah/Efficient-AI-Backbones, ``ghostnet_pytorch/
  ghostnet.py``, ``ghostnetv2_pytorch/model/ghostnetv2_torch.py``): timm's GhostNet ports keep the
  official module names (``conv_stem``, ``blocks.<i>.<j>.ghost1.primary_conv.0``, ``cheap_operation``,
  ``short_conv``, ``conv_dw`` / ``bn_dw``, ``se.conv_reduce``, ``shortcut``, ``conv_head``,
  ``classifier``), so the release differs from timm's files only in what training scripts add: a
  ``state_dict`` / ``state_dict_ema`` wrapper, DataParallel's ``module.`` prefix and the profiler's
  ``total_ops`` / ``total_params`` counters, which ``unwrap_state_dict`` and the converter drop.
- Apple's ml-cvnets MobileViT (github.com/apple/ml-cvnets, ``cvnets/models/classification/mobilevit.py``,
  ``cvnets/modules/mobilevit_block.py``, ``transformer.py``): ``conv_1`` (stem), ``layer_1`` ..
  ``layer_5`` (MobileNetV2 blocks ``block.exp_1x1`` / ``conv_3x3`` / ``red_1x1``, MobileViT blocks
  ``local_rep.conv_3x3`` / ``conv_1x1``, ``global_rep.<i>.pre_norm_mha`` / ``pre_norm_ffn`` and a final
  LayerNorm, ``conv_proj``, ``fusion``), ``conv_1x1_exp``, ``classifier.fc``; every ConvLayer2d is
  ``block.conv`` / ``block.norm``. The authors feed these weights BGR images in [0, 1] (timm's copies
  of the same tensors are configured for RGB): say which in the config's ``data_preprocessor``.
"""
import re
from typing import Dict

import torch

from . import KeyMapper

_CVNETS_LAYER_RULES = [
    (r'^block\.exp_1x1\.block\.conv\.', 'conv1_1x1.conv.'),
    (r'^block\.exp_1x1\.block\.norm\.', 'conv1_1x1.bn.'),
    (r'^block\.conv_3x3\.block\.conv\.', 'conv2_kxk.conv.'),
    (r'^block\.conv_3x3\.block\.norm\.', 'conv2_kxk.bn.'),
    (r'^block\.red_1x1\.block\.conv\.', 'conv3_1x1.conv.'),
    (r'^block\.red_1x1\.block\.norm\.', 'conv3_1x1.bn.'),
    (r'^local_rep\.conv_3x3\.block\.conv\.', 'conv_kxk.conv.'),
    (r'^local_rep\.conv_3x3\.block\.norm\.', 'conv_kxk.bn.'),
    (r'^local_rep\.conv_1x1\.block\.conv\.', 'conv_1x1.'),
    (r'^global_rep\.(\d+)\.pre_norm_mha\.0\.', r'transformer.\1.norm1.'),
    (r'^global_rep\.(\d+)\.pre_norm_mha\.1\.qkv_proj\.', r'transformer.\1.attn.qkv.'),
    (r'^global_rep\.(\d+)\.pre_norm_mha\.1\.out_proj\.', r'transformer.\1.attn.proj.'),
    (r'^global_rep\.(\d+)\.pre_norm_ffn\.0\.', r'transformer.\1.norm2.'),
    (r'^global_rep\.(\d+)\.pre_norm_ffn\.1\.', r'transformer.\1.mlp.fc1.'),
    (r'^global_rep\.(\d+)\.pre_norm_ffn\.4\.', r'transformer.\1.mlp.fc2.'),
    (r'^global_rep\.\d+\.(weight|bias)$', r'norm.\1'),  # the LayerNorm after the last transformer
    (r'^conv_proj\.block\.conv\.', 'conv_proj.conv.'),
    (r'^conv_proj\.block\.norm\.', 'conv_proj.bn.'),
    (r'^fusion\.block\.conv\.', 'conv_fusion.conv.'),
    (r'^fusion\.block\.norm\.', 'conv_fusion.bn.'),
]


def _cvnets_layer(match: 're.Match') -> str:
    layer, block, rest = int(match.group(1)), match.group(2), match.group(3)
    for pattern, repl in _CVNETS_LAYER_RULES:
        new_rest, hits = re.subn(pattern, repl, rest)
        if hits:
            return f'stages.{layer - 1}.{block}.{new_rest}'
    return f'unmapped:{match.group(0)}'


_CVNETS = KeyMapper([
    (r'^conv_1\.block\.conv\.', 'stem.conv.'),
    (r'^conv_1\.block\.norm\.', 'stem.bn.'),
    (r'^layer_(\d)\.(\d+)\.(.+)$', _cvnets_layer),
    (r'^conv_1x1_exp\.block\.conv\.', 'final_conv.conv.'),
    (r'^conv_1x1_exp\.block\.norm\.', 'final_conv.bn.'),
    (r'^classifier\.fc\.', 'head.fc.'),
])


def is_cvnets_mobilevit(state_dict: Dict[str, torch.Tensor]) -> bool:
    return 'conv_1.block.conv.weight' in state_dict and any(k.startswith('layer_1.') for k in state_dict)


def cvnets_mobilevit_to_timm(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """ml-cvnets MobileViT keys -> timm ``mobilevit_*`` keys (the tensors are the same)."""
    out = _CVNETS(state_dict)
    unmapped = [k[len('unmapped:'):] for k in out if k.startswith('unmapped:')]
    if unmapped:
        raise ValueError(f'no rule maps the ml-cvnets keys {", ".join(sorted(unmapped)[:6])}: is this an '
                         f'ml-cvnets MobileViT (v1) checkpoint?')
    return out


def to_timm(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """A release checkpoint's keys as timm names them (timm's and Huawei's layouts pass through)."""
    if is_cvnets_mobilevit(state_dict):
        return cvnets_mobilevit_to_timm(state_dict)
    return state_dict
