"""How an lwmm backbone takes a ``Pretrained`` checkpoint: in lwmm's layout or any format lwmm converts.

mmengine's ``PretrainedInit`` reads a checkpoint (any scheme: a local path, ``timm://``, a URL) and
loads the keys under ``prefix`` without strictness, so a timm or release file given to an lwmm
backbone would load nothing and only log missing keys. lwmm's backbones therefore run their
``Pretrained`` entry through ``load_pretrained`` (``StagedBackbone.init_weights``), which reads the
checkpoint with mmengine's own loader and, by the keys it finds, takes it as

- lwmm's layout (an lwmm classifier / detector checkpoint under ``prefix``, a backbone's own keys, or
  ``timm://`` weights, which arrive converted): loaded as mmengine would;
- a published format: a timm state dict, Huawei's GhostNet / GhostNetV2 release, Apple's ml-cvnets
  MobileViT (``official.py``), converted by the family's key map for the timm model that matches this
  backbone (``timm_names_for``);
- and, for an octave backbone, vanilla weights (lwmm's static layout), sliced into the octave paths
  (``octconv.py``).

The hook sits in the backbone rather than in a checkpoint scheme because only the backbone knows which
model a bare file must be (GhostNetV2 at width 1.3, MobileViT-S, ...) and whether it has octave layers;
mmengine's local-path loader is left as it is.
"""
import logging
import os.path as osp
from typing import Callable, Dict, Optional

import torch

from . import convert_timm, read_state_dict, timm_names_for, unwrap_state_dict
from .octconv import is_vanilla_layout, slice_vanilla
from .official import to_timm


def pretrained_cfg(init_cfg) -> Optional[dict]:
    """The ``Pretrained`` entry of an ``init_cfg`` (a dict or a list of dicts), or None."""
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    for cfg in cfgs:
        if isinstance(cfg, dict) and cfg.get('type') in ('Pretrained', 'PretrainedInit'):
            return cfg
    return None


def _matches(backbone: torch.nn.Module, state_dict: Dict[str, torch.Tensor]) -> bool:
    from . import static_layout
    own = set(backbone.state_dict()) | set(static_layout(backbone))
    return any(k in own for k in state_dict)


def backbone_state_dict(backbone: torch.nn.Module, checkpoint: str, prefix: Optional[str] = None,
                        map_location='cpu') -> Dict[str, torch.Tensor]:
    """The weights for ``backbone`` in ``checkpoint`` (keys relative to the backbone), whatever its format.

    Raises ValueError naming the checkpoint, the backbone, the formats tried and the fix when nothing in
    the file fits.
    """
    from mmengine.runner.checkpoint import _load_checkpoint
    name = type(backbone).__name__
    if '://' not in checkpoint and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'{name}: init_cfg checkpoint {checkpoint!r} does not exist; set the path to a '
                                f'downloaded or trained checkpoint, or use timm://<model>.<tag> (docs/pretrained.md).')
    if '://' not in checkpoint and checkpoint.endswith('.safetensors'):  # timm's and the hub's format
        state = read_state_dict(checkpoint)
    else:
        state = unwrap_state_dict(_load_checkpoint(checkpoint, map_location=map_location))
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        own = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if own and _matches(backbone, own):
            return _adapt(backbone, own)
    elif _matches(backbone, state):
        return _adapt(backbone, state)
    elif any(k.startswith('backbone.') for k in state):  # a classifier's (or timm://) weights, no prefix given
        own = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
        if _matches(backbone, own):
            return _adapt(backbone, own)
    candidates = timm_names_for(backbone)
    errors = []
    for timm_name in candidates:
        try:
            converted = convert_timm(timm_name, to_timm(state))
        except ValueError as error:
            errors.append(f'as timm {timm_name!r}: {error}')
            continue
        own = {k[len('backbone.'):]: v for k, v in converted.items() if k.startswith('backbone.')}
        return _adapt(backbone, own)
    looked = f' under prefix {prefix!r}' if prefix else ''
    raise ValueError(
        f'{name}: init_cfg checkpoint {checkpoint!r} has no weights for this backbone: no lwmm keys{looked}, '
        + (f'and it is not a timm / Huawei / ml-cvnets checkpoint of {", ".join(candidates)} '
           f'({"; ".join(errors)})' if candidates else 'and lwmm knows no published model of this backbone')
        + '. Give an lwmm checkpoint of the same model, a published checkpoint of that model, or '
          'timm://<model>.<tag> (docs/pretrained.md).')


def _adapt(backbone: torch.nn.Module, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Slice vanilla weights into an octave backbone's paths; other layouts pass through (a dynamic
    conv copies a static kernel itself, ``DynamicConv2d._load_from_state_dict``)."""
    if is_vanilla_layout(backbone, state_dict):
        state_dict, absent = slice_vanilla(backbone, state_dict)
        if absent:
            from mmengine.logging import print_log
            print_log(f'{type(backbone).__name__}: the vanilla checkpoint has no weights for the octave '
                      f'layers {", ".join(absent)}; they keep their initialisation.', logger='current')
    return state_dict


def load_pretrained(backbone, base_init_weights: Callable[[], None]) -> None:
    """``init_weights`` of an lwmm backbone: mmengine's, with the ``Pretrained`` entry read by lwmm.

    The other initialisers run first and the checkpoint is loaded last, as mmengine orders them.
    """
    cfg = pretrained_cfg(backbone.init_cfg)
    if cfg is None or getattr(backbone, '_is_init', False):
        base_init_weights()
        return
    from mmengine.logging import print_log
    checkpoint = cfg['checkpoint']
    state_dict = backbone_state_dict(backbone, checkpoint, cfg.get('prefix'), cfg.get('map_location', 'cpu'))
    init_cfg = backbone.init_cfg
    others = [c for c in (init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]) if c is not cfg]
    backbone.init_cfg = others or None
    try:
        base_init_weights()
    finally:
        backbone.init_cfg = init_cfg
    print_log(f'load {type(backbone).__name__} from: {checkpoint}', logger='current')
    result = backbone.load_state_dict(state_dict, strict=False)
    if hasattr(backbone, '_params_init_info'):  # mmengine's record of what initialised each parameter
        from mmengine.model.weight_init import update_init_info
        update_init_info(backbone, init_info=f'PretrainedInit: load from {checkpoint}')
    # a static twin has no kernel attention: those layers keep their initialisation by design
    attention = [k for k in result.missing_keys if '.attention.' in k]
    missing = [k for k in result.missing_keys if '.attention.' not in k]
    if attention:
        print_log(f'{type(backbone).__name__}: {len(attention)} kernel-attention tensors are not in the '
                  f'checkpoint (a static twin\'s weights) and keep their initialisation.', logger='current')
    if missing or result.unexpected_keys:
        print_log(f'{type(backbone).__name__}: the checkpoint does not match the backbone exactly; missing: '
                  f'{", ".join(missing) or "none"}; unexpected: {", ".join(result.unexpected_keys) or "none"}.',
                  logger='current', level=logging.WARNING)
