"""Argument checks shared by lwmm's layers and backbones.

Every check raises ``ValueError('<Owner>: <name>=<value> is not supported; <what is accepted>.')`` so a
user reading the message knows which argument of which module to change and to what. ``bool`` is
rejected wherever an int is expected (``True`` is an int to Python, never a sensible channel count).
"""
import difflib
import inspect
import math
from numbers import Integral, Real
from typing import Dict, Iterable, Optional, Tuple

import torch


def _fail(owner: str, name: str, value, accepted: str, hint: str = '') -> None:
    hint = f' ({hint})' if hint else ''
    owner = f'{owner}: ' if owner else ''
    raise ValueError(f'{owner}{name}={value!r} is not supported; {accepted}{hint}.')


def is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def check_int(owner: str, name: str, value, minimum: int = 1, hint: str = '') -> int:
    """An int >= ``minimum`` (1 by default: channels, kernel sizes, K, reduction, heads)."""
    if not is_int(value) or value < minimum:
        accepted = 'use a positive int' if minimum == 1 else f'use an int >= {minimum}'
        _fail(owner, name, value, accepted, hint)
    return int(value)


def check_odd(owner: str, name: str, value, hint: str = '') -> int:
    """A positive odd int: kernels whose "same" padding ``(k - 1) // 2`` must keep the size."""
    if not is_int(value) or value < 1 or value % 2 == 0:
        _fail(owner, name, value, 'use a positive odd int (1, 3, 5, ...) so the padding keeps the size', hint)
    return int(value)


def check_range(owner: str,
                name: str,
                value,
                low: Optional[float] = None,
                high: Optional[float] = None,
                low_inclusive: bool = True,
                high_inclusive: bool = False,
                hint: str = '') -> float:
    """A finite real number between ``low`` and ``high`` (None: unbounded on that side)."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        if low is not None and high is not None:
            accepted = (f'use a number in {"[" if low_inclusive else "("}{low}, {high}'
                        f'{"]" if high_inclusive else ")"}')
        elif low is not None:
            accepted = f'use a number {">=" if low_inclusive else ">"} {low}'
        elif high is not None:
            accepted = f'use a number {"<=" if high_inclusive else "<"} {high}'
        else:
            accepted = 'use a finite number'
        _fail(owner, name, value, accepted, hint)
    return value


def check_widen_factor(value, name: str = 'widen_factor', owner: str = '', published: Iterable[float] = ()) -> float:
    """A width multiplier: a finite number > 0; ``published`` (the paper's values) is listed in the message."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
        hint = f'published: {", ".join(map(str, published))}' if published else ''
        _fail(owner, name, value, 'use a positive number', hint)
    return value


def check_choice(owner: str, name: str, value, choices: Iterable, hint: str = '') -> None:
    """One of ``choices`` (listed sorted in the message)."""
    choices = list(choices)
    try:
        known = value in choices
    except TypeError:  # an unhashable value against dict keys
        known = False
    if not known:
        try:
            listed = sorted(choices)
        except TypeError:
            listed = choices
        _fail(owner, name, value, f'choose one of {listed}', hint)


def check_divides(owner: str, name: str, value, other_name: str, other) -> None:
    """``value`` (a positive int) divides ``other``: groups of channels, heads of a width."""
    check_int(owner, name, value)
    if other % value:
        _fail(owner, name, value, f'it must divide {other_name}={other}')


def check_input(owner: str, x, channels: int, min_size: int = 1) -> None:
    """A forward input of shape (N, channels, H, W) with H, W >= ``min_size``.

    Shape comparisons only, so it costs nothing next to a conv. It turns torch's RuntimeErrors about
    kernel sizes or matrix shapes, which name neither the module nor the input, into a ValueError that
    names both. While tracing (torch.jit.trace, ONNX export) sizes are traced values and comparing them
    would warn and bake the example's size into the graph, so the check is skipped there.
    """
    if torch.jit.is_tracing():
        return
    shape = tuple(x.shape)
    if len(shape) != 4 or shape[1] != channels or shape[2] < min_size or shape[3] < min_size:
        raise ValueError(f'{owner}: input of shape {shape} is not supported; it needs (N, {channels}, H, W) '
                         f'with H, W >= {min_size}.')


class UnexpectedArgumentError(TypeError):
    """A keyword argument a constructor does not take. A TypeError, as Python's own, so code that catches
    TypeError still does; the message names the class, each argument, its fix and what is accepted."""


def accepted_keywords(cls) -> Optional[Tuple[str, ...]]:
    """The keyword arguments ``cls(...)`` takes; None when its ``__init__`` takes ``**kwargs`` (any)."""
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return tuple(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


def did_you_mean(name: str, choices: Iterable[str]) -> Optional[str]:
    """The choice closest to ``name`` (a typo, another case), or None when none is close."""
    choices = [c for c in choices if c != name]
    by_case = [c for c in choices if c.lower() == name.lower()]
    close = by_case or difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def check_keywords(cls, kwargs: dict, fixes: Optional[Dict[str, str]] = None) -> None:
    """Raise UnexpectedArgumentError when ``kwargs`` holds keywords ``cls`` does not take.

    ``fixes`` maps a keyword to what to do instead; keywords sharing a fix are listed together, and any other
    keyword gets the closest accepted one ("did you mean"). Runs before ``__init__`` (from ``__new__``), so
    every caller gets the message: lwmm's tools, mmdet's / mmseg's own ``tools/train.py``, plain Python.
    """
    accepted = accepted_keywords(cls)
    unknown = [key for key in kwargs if accepted is not None and key not in accepted]
    if not unknown:
        return
    fixes = fixes or {}
    grouped: Dict[str, list] = {}
    for key in unknown:
        guess = did_you_mean(key, accepted)
        fix = fixes.get(key) or (f'did you mean {guess}?' if guess else f'not an argument of {cls.__name__}')
        grouped.setdefault(fix, []).append(key)
    lines = [f'{", ".join(keys)}: {fix}' for fix, keys in grouped.items()]
    raise UnexpectedArgumentError(
        f'{cls.__name__} got keyword arguments it does not take ({", ".join(unknown)}):\n  ' + '\n  '.join(lines) +
        f'\n{cls.__name__} takes: {", ".join(accepted)}.')
