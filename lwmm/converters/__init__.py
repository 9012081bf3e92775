"""Checkpoint key maps from reference implementations (timm) to lwmm classifiers.

Each family registers a converter for the timm model names it covers with ``register_timm_converter``.
A converter takes timm's ``state_dict`` and returns the state dict of the matching lwmm
``ImageClassifier`` (``backbone.*``, ``neck.*``, ``head.*`` keys), loadable with ``strict=True``.
"""
from typing import Callable, Dict

import torch

TIMM_CONVERTERS: Dict[str, dict] = {}


def register_timm_converter(*names: str, config: Callable[[str], str]):
    """Register ``fn(timm_name, state_dict) -> state_dict`` for ``names``.

    ``config(timm_name)`` gives the lwmm classifier config (path relative to the repository's
    ``configs/``) whose model the converted weights load into.
    """

    def wrap(fn):
        for name in names:
            TIMM_CONVERTERS[name] = dict(convert=fn, config=config(name))
        return fn

    return wrap


def _load_family_converters() -> None:
    from . import ghostnet, mobilevit  # noqa: F401  (each registers its names)


def available_timm_models():
    _load_family_converters()
    return sorted(TIMM_CONVERTERS)


def convert_timm(timm_name: str, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Convert ``state_dict`` of timm model ``timm_name``; unknown names raise ValueError listing the known."""
    _load_family_converters()
    if timm_name not in TIMM_CONVERTERS:
        raise ValueError(f'--model {timm_name!r} has no converter; known timm models: '
                         f'{", ".join(sorted(TIMM_CONVERTERS))}.')
    return TIMM_CONVERTERS[timm_name]['convert'](timm_name, state_dict)


def timm_config(timm_name: str) -> str:
    _load_family_converters()
    if timm_name not in TIMM_CONVERTERS:
        raise ValueError(f'{timm_name!r} has no converter; known: {", ".join(sorted(TIMM_CONVERTERS))}.')
    return TIMM_CONVERTERS[timm_name]['config']


class KeyMapper:
    """Rename keys with ordered (regex, replacement) rules and check that nothing is left over."""

    def __init__(self, rules, drop=()):
        import re
        self.rules = [(re.compile(pattern), repl) for pattern, repl in rules]
        self.drop = [re.compile(pattern) for pattern in drop]

    def __call__(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        out = {}
        for key, value in state_dict.items():
            if any(pattern.search(key) for pattern in self.drop):
                continue
            new_key = key
            for pattern, repl in self.rules:
                new_key, hits = pattern.subn(repl, new_key)
                if hits:
                    break
            else:
                raise ValueError(f'no rule maps the source key {key!r}: is this checkpoint of the named model?')
            out[new_key] = value
        return out
