"""Vanilla conv weights sliced into the four paths of each octave conv (a warm start for OctConv networks).

An ``OctaveConvModule`` whose conv has ``in = in_h + in_l`` and ``out = out_h + out_l`` channels (high
part first, as ``octave_merge`` concatenates them) takes the ``(out, in / groups, k, k)`` kernel ``W`` of
the vanilla conv at the same place as

    H->H = W[:out_h, :in_h]    H->L = W[out_h:, :in_h]    L->H = W[:out_h, in_h:]    L->L = W[out_h:, in_h:]

(depthwise: H->H = W[:out_h], L->L = W[out_h:]) and the vanilla BatchNorm split the same way into its
high and low norms. At alpha 0 only H->H exists and the network is the vanilla one exactly. At alpha > 0
the low paths see 2x average-pooled maps, so the result is a warm start to fine-tune, not the OctConv
paper's protocol (which trains on ImageNet from scratch).
"""
from typing import Dict, List, Tuple

import torch
import torch.nn as nn


def _octave_modules(backbone: nn.Module):
    from lwmm.models.layers.octave_conv import OctaveConvModule
    return [(name, m) for name, m in backbone.named_modules() if isinstance(m, OctaveConvModule)]


def is_vanilla_layout(backbone: nn.Module, state_dict: Dict[str, torch.Tensor]) -> bool:
    """Whether ``state_dict`` (keys relative to ``backbone``) holds vanilla ``conv.weight`` / ``bn.*``
    keys where ``backbone`` has octave modules."""
    return any(f'{name}.conv.weight' in state_dict for name, _ in _octave_modules(backbone))


def slice_vanilla(backbone: nn.Module, state_dict: Dict[str, torch.Tensor]
                  ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Replace the vanilla keys of every octave module of ``backbone`` by its sliced paths and norms.

    Returns the new state dict (keys relative to ``backbone``; other keys pass through) and the octave
    modules for which ``state_dict`` had no vanilla weights (they keep their initialisation, e.g.
    Oct-MobileNetV2's extra first-block split conv, which MobileNetV2 lacks).

    Raises ValueError when a vanilla kernel's shape is not that of the octave conv's full width.
    """
    out = dict(state_dict)
    absent = []
    for name, module in _octave_modules(backbone):
        weight = out.pop(f'{name}.conv.weight', None)
        if weight is None:
            absent.append(name)
            continue
        conv = module.conv
        full = (conv.out_channels, conv.in_channels // conv.groups, conv.kernel_size, conv.kernel_size)
        if tuple(weight.shape) != full:
            raise ValueError(f'{name}.conv.weight has shape {tuple(weight.shape)}; the octave conv {name} '
                             f'slices a vanilla kernel of {full}: is the checkpoint of the same depth/width?')
        bias = out.pop(f'{name}.conv.bias', None)
        oh, ih = conv.out_h, conv.in_h
        if conv.is_depthwise:
            parts = dict(h2h=(slice(0, oh), slice(None)), l2l=(slice(oh, None), slice(None)))
        else:
            parts = dict(h2h=(slice(0, oh), slice(0, ih)), h2l=(slice(oh, None), slice(0, ih)),
                         l2h=(slice(0, oh), slice(ih, None)), l2l=(slice(oh, None), slice(ih, None)))
        for path, (rows, cols) in parts.items():
            layer = getattr(conv, path)
            if layer is None:
                continue
            out[f'{name}.conv.{path}.weight'] = weight[rows, cols].clone()
            if layer.bias is not None and bias is not None:
                out[f'{name}.conv.{path}.bias'] = bias[rows].clone()
        for key in [k for k in out if k.startswith(f'{name}.bn.')]:
            value, field = out.pop(key), key[len(f'{name}.bn.'):]
            if value.dim() == 0:  # num_batches_tracked
                out[f'{name}.norm_h.{field}'] = value.clone()
                if module.norm_l is not None:
                    out[f'{name}.norm_l.{field}'] = value.clone()
                continue
            out[f'{name}.norm_h.{field}'] = value[:oh].clone()
            if module.norm_l is not None:
                out[f'{name}.norm_l.{field}'] = value[oh:].clone()
    return out, absent
