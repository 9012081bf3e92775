"""Checkpoint faults named before the Runner meets them.

What mmengine 0.10.7 / torch report by themselves, and what these checks say instead:

- a truncated file: ``RuntimeError: PytorchStreamReader failed reading zip archive: failed finding central
  directory`` (no file named) -> "checkpoint 'x.pth' (N bytes) cannot be loaded: it is a torch zip archive
  cut short (an interrupted save, copy or download)".
- a file that is not a checkpoint (text, an image, ...): ``UnpicklingError: ... invalid load key`` ->
  "... it is not a checkpoint: a text file beginning b'...'".
- a checkpoint holding objects the weights-only loader refuses: torch's advice to load it with
  ``weights_only=False`` (which runs whatever code the file holds) -> "... cannot be loaded weights-only: it
  holds <names>, which neither torch's weights-only loader nor lwmm allows ..." (lwmm.engine.checkpoint_safety).
- a checkpoint of another architecture: ``load_from`` only *logs* "The model and loaded state dict do not
  match exactly" and carries on, so tools/test.py evaluates a mostly random model, and ``--resume``
  fails later on the optimizer's parameter groups. :func:`check_checkpoint_fits` lists the missing,
  unexpected and reshaped keys (a few of each, with counts) and stops, before anything is built.

Fine-tuning (``load_from`` without resume) may mean to drop a head: there only the file is checked.
"""
import os.path as osp
import pickle
import zipfile
from typing import Dict, List, Tuple

import torch

WHOLE_ARCHIVE = 'it is a torch zip archive whose contents torch cannot read'
REVISE_KEYS = (('module.', ''), )  # what mmengine's load_checkpoint strips (DataParallel / DDP wrappers)


def describe_checkpoint_file(path: str) -> str:
    """What kind of file ``path`` is, for a message about why torch cannot load it."""
    size = osp.getsize(path)
    if size == 0:
        return 'the file is empty (0 bytes)'
    with open(path, 'rb') as f:
        head = f.read(512)
    if head.startswith(b'PK'):
        if not zipfile.is_zipfile(path):
            return 'it is a torch zip archive cut short (an interrupted save, copy or download)'
        with zipfile.ZipFile(path) as archive:
            if not any(name.endswith('data.pkl') for name in archive.namelist()):
                return 'it is a zip archive but not a torch checkpoint (no data.pkl inside)'
        return WHOLE_ARCHIVE
    if head[:1] == b'\x80':
        return 'it is a legacy (pickle) checkpoint that is truncated or corrupt'
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError:
        return f'it is not a checkpoint (an unknown binary format beginning {head[:16]!r})'
    if all(ch.isprintable() or ch.isspace() for ch in text):
        return f'it is not a checkpoint: a text file beginning {head[:40]!r}'
    return f'it is not a checkpoint (beginning {head[:16]!r})'


def raise_unreadable(path: str, error: Exception):
    """Raise the ValueError saying what is wrong with the file ``path`` torch could not read."""
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ''
    if len(first_line) > 120:  # torch's weights-only advice runs on for a paragraph
        first_line = first_line[:117] + '...'
    raise ValueError(f'checkpoint {path!r} ({osp.getsize(path)} bytes) cannot be loaded: '
                     f'{describe_checkpoint_file(path)}. torch said: {type(error).__name__}: {first_line}') \
        from error


def read_checkpoint(path: str, map_location: str = 'cpu') -> dict:
    """Load a local checkpoint weights-only, as lwmm's Runner does (mmengine's own checkpoints included:
    lwmm.engine.checkpoint_safety); a failure names the file and what is wrong with it."""
    from lwmm.engine.checkpoint_safety import load_checkpoint_file, refused_globals_hint
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist.')
    try:
        checkpoint = load_checkpoint_file(path, map_location=map_location)
    except pickle.UnpicklingError as error:
        if describe_checkpoint_file(path) != WHOLE_ARCHIVE:  # a broken file: said below
            raise_unreadable(path, error)
        raise ValueError(f'checkpoint {path!r} cannot be loaded weights-only: {refused_globals_hint(path, error)}') \
            from error
    except Exception as error:
        raise_unreadable(path, error)
    if not isinstance(checkpoint, dict):
        raise ValueError(f'checkpoint {path!r} holds a {type(checkpoint).__name__}, not a state dict or a '
                         f"{{'state_dict': ...}} checkpoint: was it saved with torch.save(model)?")
    return checkpoint


def checkpoint_state_dict(checkpoint: dict) -> Dict[str, torch.Tensor]:
    state = checkpoint.get('state_dict', checkpoint)
    revised = {}
    for key, value in state.items():
        for old, new in REVISE_KEYS:
            if key.startswith(old):
                key = new + key[len(old):]
        revised[key] = value
    return revised


def compare_state_dicts(model_shapes: Dict[str, Tuple[int, ...]],
                        state: Dict[str, torch.Tensor]) -> Tuple[List[str], List[str], List[str]]:
    """(missing from the checkpoint, unexpected in it, present with another shape)."""
    missing = [key for key in model_shapes if key not in state]
    unexpected = [key for key in state if key not in model_shapes]
    reshaped = [f'{key}: checkpoint {tuple(state[key].shape)} vs model {model_shapes[key]}'
                for key in model_shapes if key in state and hasattr(state[key], 'shape')
                and tuple(state[key].shape) != model_shapes[key]]
    return missing, unexpected, reshaped


def model_shapes(cfg) -> Dict[str, Tuple[int, ...]]:
    """Parameter and buffer shapes of ``cfg.model``, built on the meta device (no memory, no init)."""
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')), torch.device('meta'):
        model = MODELS.build(cfg.model)
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def _listed(title: str, keys: List[str], limit: int = 5) -> str:
    shown = ', '.join(keys[:limit]) + (', ...' if len(keys) > limit else '')
    return f'{len(keys)} {title} ({shown})'


def check_checkpoint_fits(cfg, path: str, strict: bool = True) -> dict:
    """Read ``path`` (clear errors for broken files) and, when ``strict``, stop unless its weights fit
    ``cfg.model`` key for key and shape for shape. Returns the loaded checkpoint."""
    checkpoint = read_checkpoint(path)
    if not strict:
        return checkpoint
    missing, unexpected, reshaped = compare_state_dicts(model_shapes(cfg), checkpoint_state_dict(checkpoint))
    if missing or unexpected or reshaped:
        parts = [text for keys, text in ((missing, 'model keys missing from the checkpoint'),
                                         (unexpected, 'checkpoint keys the model does not have'),
                                         (reshaped, 'keys with another shape')) if keys
                 for text in [_listed(text, keys)]]
        origin = (checkpoint.get('meta') or {}).get('experiment_name') if isinstance(checkpoint.get('meta'),
                                                                                       dict) else None
        backbone = cfg.model.get('backbone', {}).get('type') if isinstance(cfg.model.get('backbone'), dict) else None
        raise ValueError(
            f"checkpoint {path!r} does not fit this config's model ({cfg.model.get('type')}"
            f"{f' with {backbone}' if backbone else ''}): " + '; '.join(parts) + '. It was trained for another '
            f"architecture{f' (its run: {origin})' if origin else ''}: use the config it was trained with, or "
            "load only its backbone with model.backbone.init_cfg=dict(type='Pretrained', prefix='backbone.', "
            'checkpoint=...).')
    return checkpoint
