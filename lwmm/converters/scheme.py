"""``timm://<model>[.<tag>]``: timm's published weights as an mmengine checkpoint with lwmm's keys.

    init_cfg=dict(type='Pretrained', checkpoint='timm://ghostnetv2_100.in1k', prefix='backbone.')

The weights are fetched as timm itself fetches them for ``timm.create_model(name, pretrained=True)``:
timm's pretrained config of the tag gives the Hugging Face repository and file, and
``timm.models.load_state_dict_from_hf`` downloads it through ``huggingface_hub`` (so ``HF_HOME`` /
``HF_HUB_CACHE``, ``HF_HUB_OFFLINE`` and ``HF_ENDPOINT`` mirrors behave as for any timm user), without
building timm's model. The state dict is converted in memory by the family's key map
(``lwmm.converters``) and returned as ``dict(state_dict=..., meta=...)`` with ``backbone.*`` /
``head.*`` keys: with ``prefix='backbone.'`` it initialises a backbone, without a prefix a classifier.
"""
from typing import Dict, Optional, Tuple

import torch

from . import available_timm_models, convert_timm, timm_config

SCHEME = 'timm://'


def _place_by_hand(name: str, repo_id: Optional[str], filename: Optional[str]) -> str:
    source = (f'https://huggingface.co/{repo_id}/resolve/main/{filename}' if repo_id else
              f"timm's {name} weights")
    return (f'To place the file by hand: download {source} on a machine with access and copy its Hugging Face '
            f'cache (HF_HOME, by default ~/.cache/huggingface) here, or set checkpoint=<that file> (an lwmm '
            f'backbone recognises a timm state dict; tools/model_converters/timm2lwmm.py converts it once for a '
            f'whole classifier)')


def resolve(uri: str) -> Tuple[str, str, object]:
    """``timm://name[.tag]`` -> (timm architecture, full name with tag, timm's pretrained config).

    Raises ValueError for a name lwmm has no key map for, or a tag timm does not know.
    """
    if not uri.startswith(SCHEME) or len(uri) == len(SCHEME):
        raise ValueError(f'checkpoint={uri!r}: write timm://<model>[.<tag>], e.g. timm://ghostnetv2_100.in1k.')
    name = uri[len(SCHEME):]
    import timm.models
    arch, _ = timm.models.split_model_name_tag(name)
    known = available_timm_models()
    if arch not in known:
        raise ValueError(f'checkpoint={uri!r}: lwmm has no key map for timm model {arch!r}; known: '
                         f'{", ".join(known)}. Tried: the name before the tag against lwmm.converters. '
                         f'{_place_by_hand(name, None, None)}.')
    try:
        cfg = timm.models.get_pretrained_cfg(name)
    except RuntimeError as error:  # an unknown tag of a known architecture
        tags = sorted(n for n in timm.models.list_pretrained(f'{arch}.*'))
        raise ValueError(f'checkpoint={uri!r}: {error} timm publishes: {", ".join(tags) or "none"}.') from None
    if cfg is None:
        raise ValueError(f'checkpoint={uri!r}: timm has no pretrained config for {name!r}.')
    return arch, name, cfg


def fetch_timm_state_dict(uri: str) -> Tuple[str, str, Dict[str, torch.Tensor]]:
    """Download (or read from the Hugging Face cache) the weights of ``timm://name[.tag]``.

    Returns (architecture, name, timm state dict). Raises ValueError naming the model, what was tried
    and how to place the file by hand when there are no weights, no network with an empty cache, or an
    unreadable file.
    """
    arch, name, cfg = resolve(uri)
    repo_id = cfg.hf_hub_id
    if not repo_id:
        raise ValueError(f'checkpoint={uri!r}: timm publishes no weights for {name!r} (tag '
                         f'{cfg.tag!r} has no Hugging Face repository; timm lists: '
                         f'{", ".join(_published(arch)) or "none"}).')
    from timm.models import load_state_dict_from_hf
    filename = cfg.hf_hub_filename
    tried = f'{repo_id}/{filename or "model.safetensors (then pytorch_model.bin)"}'
    try:
        if filename:
            state_dict = load_state_dict_from_hf(repo_id, filename=filename)
        else:
            state_dict = load_state_dict_from_hf(repo_id)
    except Exception as error:  # huggingface_hub's offline / not-found / connection errors
        offline = _offline()
        reason = ('HF_HUB_OFFLINE is set and the file is not in the cache' if offline else
                  'the hub could not be reached or has no such file, and the cache has no copy')
        raise ValueError(f'checkpoint={uri!r}: could not load timm weights for {name!r}: {reason} '
                         f'(tried {tried} in the Hugging Face cache {_cache_dir()}; '
                         f'{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ""}). '
                         f'{_place_by_hand(name, repo_id, filename or "model.safetensors")}.') from None
    return arch, name, state_dict


def _published(arch: str):
    import timm.models
    return timm.models.list_pretrained(f'{arch}.*')


def _offline() -> bool:
    try:
        from huggingface_hub import constants
        return bool(constants.HF_HUB_OFFLINE)
    except ImportError:
        return False


def _cache_dir() -> str:
    try:
        from huggingface_hub import constants
        return constants.HF_HUB_CACHE
    except ImportError:
        return '<huggingface_hub is not installed>'


def load_from_timm(filename: str, map_location=None) -> dict:
    """mmengine checkpoint loader for ``timm://``: the converted weights as ``dict(state_dict, meta)``."""
    arch, name, state_dict = fetch_timm_state_dict(filename)
    try:
        converted = convert_timm(arch, state_dict)
    except ValueError as error:
        raise ValueError(f'checkpoint={filename!r}: the downloaded file is not timm {arch!r}: {error} '
                         f'Delete the cached copy (HF_HOME) and retry, or '
                         f'{_place_by_hand(name, None, None)}.') from None
    if map_location is not None:
        converted = {k: v.to(map_location) for k, v in converted.items()}
    return dict(state_dict=converted,
                meta=dict(converted_from=f'timm/{name}', config=timm_config(arch)))


def register() -> None:
    """Register ``timm://`` with mmengine's ``CheckpointLoader``: a new prefix only, never replacing one."""
    from mmengine.runner import CheckpointLoader
    current = CheckpointLoader._schemes.get(SCHEME)
    if current is None:
        CheckpointLoader.register_scheme(prefixes=SCHEME, loader=load_from_timm)
    elif getattr(current, '__qualname__', None) != load_from_timm.__qualname__:
        import warnings
        warnings.warn(f'{SCHEME} is already registered with mmengine by {current!r}; lwmm leaves it in place.')


register()
