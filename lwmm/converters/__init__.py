"""Checkpoint key maps from reference implementations (timm) to lwmm, and the ways weights reach a model.

Each family registers a converter for the timm architectures it covers with ``register_timm_converter``.
A converter takes timm's ``state_dict`` and returns lwmm keys (``backbone.*``, ``neck.*``, ``head.*``):
the state dict of the matching lwmm ``ImageClassifier`` (loadable with ``strict=True``), or for the
families without published weights of their own (DY, Oct) that of the static twin's layout, which the
DY and Oct layers take in (``DynamicConv2d`` copies a static kernel into its K kernels, ``octconv``
slices a vanilla conv into the four octave paths). One key map per family serves everything:

- ``tools/model_converters/timm2lwmm.py`` (offline conversion to a file),
- the ``timm://<model>[.<tag>]`` checkpoint scheme (``scheme.py``: timm's hub download, converted in memory),
- the official release formats read from local files (``official.py``: renamed to timm's keys first),
  recognised when an lwmm backbone loads a ``Pretrained`` checkpoint (``pretrained.py``).
"""
from typing import Callable, Dict, List, Optional, Sequence

import torch

TIMM_CONVERTERS: Dict[str, dict] = {}


def register_timm_converter(*names: str,
                            config: Callable[[str], Optional[str]],
                            backbones: Optional[Callable[[str], Sequence[dict]]] = None):
    """Register ``fn(timm_name, state_dict) -> state_dict`` for the timm architectures ``names``.

    ``config(timm_name)`` gives the lwmm classifier config (path relative to the repository's
    ``configs/``) whose model the converted weights load into, or None where no lwmm classifier takes
    them whole (a warm start for a backbone only). ``backbones(timm_name)`` lists the lwmm backbones the
    converted weights fit, each as ``dict(type=<class name>, <attribute>=<value>, ...)``; a local file of
    a published format is recognised for a backbone through this list.
    """

    def wrap(fn):
        for name in names:
            TIMM_CONVERTERS[name] = dict(convert=fn, config=config(name),
                                         backbones=list(backbones(name)) if backbones else [])
        return fn

    return wrap


def _load_family_converters() -> None:
    from . import ghostnet, mobilenet, mobilevit, resnet  # noqa: F401  (each registers its names)


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


def timm_config(timm_name: str) -> Optional[str]:
    _load_family_converters()
    if timm_name not in TIMM_CONVERTERS:
        raise ValueError(f'{timm_name!r} has no converter; known: {", ".join(sorted(TIMM_CONVERTERS))}.')
    return TIMM_CONVERTERS[timm_name]['config']


def timm_names_for(backbone: torch.nn.Module) -> List[str]:
    """The timm architectures whose converted weights fit ``backbone`` (an lwmm backbone instance)."""
    _load_family_converters()
    names = []
    for name, entry in sorted(TIMM_CONVERTERS.items()):
        for spec in entry['backbones']:
            spec = dict(spec)
            if type(backbone).__name__ == spec.pop('type') and all(
                    getattr(backbone, attr, None) == value for attr, value in spec.items()):
                names.append(name)
    return names


def unwrap_state_dict(checkpoint) -> Dict[str, torch.Tensor]:
    """The tensors of a checkpoint as training scripts save it: a bare state dict, or one under
    ``state_dict`` / ``model`` / ``state_dict_ema`` (timm's and the official scripts' train output),
    with the ``module.`` prefix of (Distributed)DataParallel removed."""
    if isinstance(checkpoint, dict):
        for key in ('state_dict', 'model', 'state_dict_ema'):
            if isinstance(checkpoint.get(key), dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict):
        raise ValueError(f'the checkpoint holds a {type(checkpoint).__name__}, not a state dict.')
    tensors = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError('the checkpoint holds no tensors.')
    if all(k.startswith('module.') for k in tensors):
        tensors = {k[len('module.'):]: v for k, v in tensors.items()}
    return tensors


def read_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Read a state dict saved with ``torch.save`` (``.pth``, ``.pth.tar``, ``.bin``) or safetensors."""
    import os.path as osp
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist.')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)  # tensors only, on any torch
    except Exception as error:  # a truncated or foreign file: say which file and what torch said
        raise ValueError(f'{path!r} is not a readable torch checkpoint ({type(error).__name__}: '
                         f'{str(error).splitlines()[0] if str(error) else ""}).') from None
    try:
        return unwrap_state_dict(checkpoint)
    except ValueError as error:
        raise ValueError(f'{path!r}: {error}') from None


def short_list(keys, limit: int = 6) -> str:
    keys = sorted(keys)
    return ', '.join(keys[:limit]) + (f' ... ({len(keys) - limit} more)' if len(keys) > limit else '')


def check_converted(out: Dict[str, torch.Tensor], expected: Dict[str, torch.Size], what: str,
                    unmapped: Sequence[str] = (), optional: Sequence[str] = ()) -> None:
    """Raise ValueError naming ``what`` when ``out`` misses, adds or misshapes keys of ``expected``
    (keys in ``optional`` may be absent)."""
    missing = expected.keys() - out.keys() - set(optional)
    extra = out.keys() - expected.keys()
    wrong = [f'{k} {tuple(out[k].shape)} (expected {tuple(expected[k])})'
             for k in sorted(expected.keys() & out.keys()) if out[k].shape != expected[k]]
    problems = []
    if unmapped:
        problems.append(f'{len(unmapped)} source keys no rule maps: {short_list(unmapped)}')
    if missing:
        problems.append(f'missing {len(missing)} keys: {short_list(missing)}')
    if extra:
        problems.append(f'{len(extra)} unexpected keys: {short_list(extra)}')
    if wrong:
        problems.append(f'{len(wrong)} wrong shapes: {short_list(wrong)}')
    if problems:
        raise ValueError(f'the state dict does not match {what}: ' + '; '.join(problems) + '.')


def static_layout(backbone: torch.nn.Module) -> Dict[str, torch.Size]:
    """Keys and shapes of ``backbone``'s static twin: each ``DynamicConv2d`` as the conv it was made from
    (one kernel, no attention), each ``OctaveConvModule`` as mmcv's ``ConvModule`` (``conv.weight``,
    ``bn.*``) of its full width. This is the layout the DY and Oct converters produce."""
    from lwmm.models.layers.dynamic_conv import DynamicConv2d
    from lwmm.models.layers.octave_conv import OctaveConvModule
    shapes = {}
    skip = set()
    for name, module in backbone.named_modules():
        prefix = f'{name}.' if name else ''
        if isinstance(module, DynamicConv2d):
            shapes[prefix + 'weight'] = module.weight.shape[1:]
            if module.bias is not None:
                shapes[prefix + 'bias'] = module.bias.shape[1:]
            skip.add(prefix)
        elif isinstance(module, OctaveConvModule):
            conv = module.conv
            shapes[prefix + 'conv.weight'] = torch.Size(
                [conv.out_channels, conv.in_channels // conv.groups, conv.kernel_size, conv.kernel_size])
            if conv.h2h.bias is not None:
                shapes[prefix + 'conv.bias'] = torch.Size([conv.out_channels])
            if module.norm_h is not None:
                for key, value in module.norm_h.state_dict().items():
                    shapes[f'{prefix}bn.{key}'] = (
                        value.shape if value.dim() == 0 else torch.Size([conv.out_channels]))
            skip.add(prefix)
    for key, value in backbone.state_dict().items():
        if not any(key.startswith(p) for p in skip):
            shapes[key] = value.shape
    return shapes


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
