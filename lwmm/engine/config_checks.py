"""Config mistakes caught before the Runner builds anything, with a message that says what to change.

- ``check_lwmm_types``: a ``type`` naming an lwmm class without the ``lwmm.`` prefix. Configs keep their
  codebase as ``default_scope`` (mmdet, mmseg, mmpretrain), whose registries cannot see lwmm's
  (siblings, not parents), so mmengine would stop with "X is not in the mmdet::model registry".
- ``check_model_channels``: a neck's or head's ``in_channels`` that does not match what an lwmm
  backbone returns for its ``out_indices`` (mmdet / mmseg / mmpretrain would fail later, deep in a
  forward pass, with a shape error that names neither number's place in the config).
- ``check_frozen_needs_weights``: ``frozen_stages >= 0`` or ``norm_eval=True`` on an lwmm backbone that
  starts from random weights. Both assume loaded weights (mmdet's RetinaNet recipe freezes the stem and the
  first stage of an ImageNet ResNet); on random weights they freeze noise and keep BatchNorm statistics at
  their initial mean 0 / variance 1 for the whole run.

- ``check_stock_leftovers``: what a stock config keeps that breaks an lwmm backbone: mmseg's
  ``model.pretrained`` (handed to the backbone as ``pretrained=``) and mmdet 3.3's ``SSDHead`` (which
  crashes at the first validation; ``lwmm.SSDHead`` is the fixed one).
- unknown ``lwmm.X`` types (a typo) with the closest name, in ``check_lwmm_types``.

``check_config`` runs them all; ``lwmm.engine.launch.build_runner`` calls it, so tools/train.py and
tools/test.py check every config they run.
"""
import copy
import importlib
from typing import Iterator, List, Optional, Sequence, Tuple

import torch

import lwmm.registry as lwmm_registry
from lwmm.registry import LwmmRegistry

CUSTOM_IMPORTS = "custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)"
# registries lwmm defines, by their variable name in lwmm.registry and in each codebase's registry module
# (read from lwmm.registry, so a registry added there is checked too)
REGISTRY_NAMES = tuple(name for name, value in vars(lwmm_registry).items() if isinstance(value, LwmmRegistry))
# necks that hand the backbone's channels on unchanged (classifiers pool, then the head reads them)
PASS_THROUGH_NECKS = ('GlobalAveragePooling', 'GeneralizedMeanPooling')


def _walk(node, path: str, scope: Optional[str]) -> Iterator[Tuple[str, dict, Optional[str]]]:
    """Every dict with a ``type`` under ``node``, with its place in the config and the scope it builds in."""
    if isinstance(node, dict):
        scope = node.get('_scope_', scope)
        if isinstance(node.get('type'), str):
            yield path, node, scope
        for key, value in node.items():
            yield from _walk(value, f'{path}.{key}' if path else str(key), scope)
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _walk(value, f'{path}[{index}]', scope)


def unprefixed_lwmm_types(cfg) -> List[str]:
    """Describe each ``type`` that only lwmm registers but is written without the ``lwmm.`` prefix."""
    problems = []
    default_scope = cfg.get('default_scope')
    for path, node, scope in _walk(cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg), '', default_scope):
        name = node['type']
        if '.' in name or scope == 'lwmm':
            continue
        for registry_name in REGISTRY_NAMES:
            registry = getattr(lwmm_registry, registry_name)
            if name not in registry.module_dict and name not in registry.deferred:  # deferred: lwmm's heads
                continue
            if scope and _codebase_has(scope, registry_name, name):
                continue
            problems.append(f"{path}.type='{name}' is an lwmm {registry_name.lower()[:-1]} that the "
                            f"{scope or 'default'} scope cannot see: write type='lwmm.{name}'")
            break
    return problems


def unknown_lwmm_types(cfg) -> List[str]:
    """Describe each ``type='lwmm.X'`` that no lwmm registry holds, with the closest lwmm name."""
    from lwmm.models.layers.validation import did_you_mean
    names = set()
    for registry_name in REGISTRY_NAMES:
        registry = getattr(lwmm_registry, registry_name)
        names.update(registry.module_dict, registry.deferred)
    problems = []
    for path, node, _ in _walk(cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg), '', None):
        if not node['type'].startswith('lwmm.') or node['type'][len('lwmm.'):] in names:
            continue
        guess = did_you_mean(node['type'][len('lwmm.'):], names)
        fix = f"did you mean type='lwmm.{guess}'?" if guess else f'lwmm has: {", ".join(sorted(names))}'
        problems.append(f"{path}.type='{node['type']}' is not an lwmm type: {fix}")
    return problems


def _codebase_has(scope: str, registry_name: str, name: str) -> bool:
    try:
        registry = getattr(importlib.import_module(f'{scope}.registry'), registry_name)
    except (ImportError, AttributeError):
        return False
    return registry.get(name) is not None


def check_lwmm_types(cfg) -> None:
    """Raise ValueError listing every unknown ``lwmm.X`` and every unprefixed lwmm type, with the fix."""
    unknown = unknown_lwmm_types(cfg)
    if unknown:
        raise ValueError('This config names types lwmm does not have:\n  ' + '\n  '.join(unknown))
    problems = unprefixed_lwmm_types(cfg)
    if problems:
        raise ValueError('This config names lwmm parts without their scope:\n  ' + '\n  '.join(problems) +
                         f"\nThe 'lwmm.' prefix makes mmengine import lwmm and look in its registry; also add "
                         f'`{CUSTOM_IMPORTS}` to the config so lwmm registers everything before the build.')


# -- channels -----------------------------------------------------------------------------------------------
def _lwmm_backbone(backbone_cfg: dict):
    """Build an lwmm backbone on the meta device (no memory, no init), or None when it is not lwmm's."""
    from lwmm.registry import MODELS
    name = backbone_cfg.get('type')
    if not isinstance(name, str):
        return None
    if name.startswith('lwmm.'):
        name = name[len('lwmm.'):]
    elif '.' in name or backbone_cfg.get('_scope_', 'lwmm') != 'lwmm':
        return None  # another codebase's backbone
    if name not in MODELS.module_dict:
        return None
    args = copy.deepcopy(dict(backbone_cfg))
    args.pop('_scope_', None)
    args['type'] = f'lwmm.{name}'
    with torch.device('meta'):
        backbone = MODELS.build(args)
    inner = getattr(backbone, 'backbone', None)  # DynamicConvBackbone wraps another backbone
    if not hasattr(backbone, 'out_channels') and hasattr(inner, 'out_channels'):
        backbone = inner
    return backbone if hasattr(backbone, 'out_channels') else None


def _as_tuple(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _mismatch(place: str, given, expected, out_channels, out_indices, hint: str = '') -> str:
    return (f"{place}={_as_tuple(given)!r} does not match the backbone's outputs {tuple(out_channels)} for "
            f'out_indices={tuple(out_indices)}{hint}: set {place}={_as_tuple(expected)!r} (or change '
            f'model.backbone.out_indices).')


def _check_head(place: str, head: dict, out_channels: Sequence[int], out_indices) -> Optional[str]:
    """mmseg decode heads: ``in_channels`` of the outputs picked by ``in_index`` (default -1)."""
    if not isinstance(head, dict) or 'in_channels' not in head:
        return None
    in_channels, in_index = head['in_channels'], head.get('in_index', -1)
    indices = list(in_index) if isinstance(in_index, (list, tuple)) else [in_index]
    for index in indices:
        if not isinstance(index, int) or not -len(out_channels) <= index < len(out_channels):
            return (f'{place}.in_index={_as_tuple(in_index)!r} picks an output the backbone does not return: it '
                    f'returns {len(out_channels)} ({tuple(out_channels)} for out_indices={tuple(out_indices)}); '
                    f'use indices in [0, {len(out_channels) - 1}].')
    picked = [out_channels[i] for i in indices]
    expected = picked if isinstance(in_index, (list, tuple)) else picked[0]
    if _as_tuple(in_channels) != _as_tuple(expected):
        return _mismatch(f'{place}.in_channels', in_channels, expected, out_channels, out_indices,
                         f' and {place}.in_index={_as_tuple(in_index)!r}')
    return None


def model_channel_problems(model_cfg: dict) -> List[str]:
    """Describe each neck/head ``in_channels`` that does not match the lwmm backbone's outputs."""
    if not isinstance(model_cfg, dict) or not isinstance(model_cfg.get('backbone'), dict):
        return []
    backbone = _lwmm_backbone(model_cfg['backbone'])
    if backbone is None:
        return []
    out_channels = tuple(backbone.out_channels)
    out_indices = getattr(backbone, 'out_indices', tuple(range(len(out_channels))))
    problems = []
    neck = model_cfg.get('neck')
    first_neck = neck[0] if isinstance(neck, (list, tuple)) and neck else neck
    neck_type = str(first_neck.get('type', '')).split('.')[-1] if isinstance(first_neck, dict) else None
    place = 'model.neck[0]' if first_neck is not neck else 'model.neck'
    if isinstance(first_neck, dict) and 'in_channels' in first_neck:
        given = first_neck['in_channels']
        if isinstance(given, (list, tuple)):
            if tuple(given) != out_channels:
                problems.append(_mismatch(f'{place}.in_channels', given, out_channels, out_channels, out_indices))
        elif given != out_channels[-1]:
            problems.append(_mismatch(f'{place}.in_channels', given, out_channels[-1], out_channels, out_indices))
    if first_neck is None or neck_type in PASS_THROUGH_NECKS:
        head = model_cfg.get('head')  # mmpretrain: the head reads the last (pooled) output
        if isinstance(head, dict) and isinstance(head.get('in_channels'), int) \
                and head['in_channels'] != out_channels[-1]:
            problems.append(_mismatch('model.head.in_channels', head['in_channels'], out_channels[-1],
                                      out_channels, out_indices, ' (the head reads the last one)'))
        for key in ('decode_head', 'auxiliary_head'):  # mmseg
            heads = model_cfg.get(key)
            for index, head in enumerate(heads if isinstance(heads, (list, tuple)) else [heads]):
                name = f'model.{key}[{index}]' if isinstance(heads, (list, tuple)) else f'model.{key}'
                problem = _check_head(name, head, out_channels, out_indices)
                if problem:
                    problems.append(problem)
    return problems


def check_model_channels(cfg) -> None:
    """Raise ValueError when a neck or head ``in_channels`` does not match the lwmm backbone's outputs."""
    problems = model_channel_problems(cfg.get('model'))
    if problems:
        backbone = cfg.model.backbone.get('type')
        raise ValueError(f'The channels of this config do not fit its backbone ({backbone}):\n  ' +
                         '\n  '.join(problems))


# -- freezing without weights --------------------------------------------------------------------------------
def _is_lwmm_type(node: dict) -> bool:
    """Whether a backbone dict names an lwmm backbone (``lwmm.X``, or ``X`` built in the lwmm scope)."""
    from lwmm.registry import MODELS
    name = node.get('type')
    if not isinstance(name, str):
        return False
    if name.startswith('lwmm.'):
        return True
    return '.' not in name and node.get('_scope_') == 'lwmm' and name in MODELS.module_dict


def _names_pretrained(init_cfg) -> bool:
    """Whether an ``init_cfg`` (a dict or a list of them) loads a checkpoint (``type='Pretrained'``)."""
    configs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return any(isinstance(c, dict) and c.get('type') == 'Pretrained' and bool(c.get('checkpoint'))
               for c in configs)


def _frozen_problem(place: str, frozen, norm_eval) -> Optional[str]:
    freezes = isinstance(frozen, int) and not isinstance(frozen, bool) and frozen >= 0
    if not freezes and not norm_eval:
        return None
    what = ' and '.join(filter(None, ['the frozen stages at their random values' if freezes else '',
                                      'BatchNorm statistics at mean 0 / variance 1' if norm_eval else '']))
    return (f'{place}.frozen_stages={frozen!r} and {place}.norm_eval={norm_eval!r} would keep {what}: the '
            "backbone loads no weights (no type='Pretrained' in its init_cfg, no load_from). Either load "
            f"them: {place}.init_cfg=dict(type='Pretrained', checkpoint='timm://<model>.<tag>' or a file, "
            f"prefix='backbone.') (docs/pretrained.md); or train from scratch: {place}.frozen_stages=-1 and "
            f'{place}.norm_eval=False.')


def frozen_without_weights_problems(cfg) -> List[str]:
    """Describe each lwmm backbone that freezes stages or BatchNorm statistics but loads no weights.

    Weights count as loaded when the backbone's ``init_cfg`` has ``type='Pretrained'`` (for
    ``lwmm.DynamicConvBackbone``, the wrapper's or its wrapped backbone's), when the model's own
    ``init_cfg`` does (a whole-model checkpoint), or when the config has ``load_from`` (fine-tuning a
    trained model: mmengine loads it after ``init_weights`` and it replaces every backbone tensor).
    """
    model = cfg.get('model')
    if cfg.get('load_from') or not isinstance(model, dict) or _names_pretrained(model.get('init_cfg')):
        return []
    backbone = model.get('backbone')
    if not isinstance(backbone, dict) or not _is_lwmm_type(backbone):
        return []
    inner = backbone.get('backbone') if isinstance(backbone.get('backbone'), dict) else None
    if _names_pretrained(backbone.get('init_cfg')) or (inner and _names_pretrained(inner.get('init_cfg'))):
        return []
    places = [('model.backbone', backbone)] + ([('model.backbone.backbone', inner)] if inner else [])
    problems = [_frozen_problem(place, node.get('frozen_stages', -1), node.get('norm_eval', False))
                for place, node in places]
    return [problem for problem in problems if problem]


def check_frozen_needs_weights(cfg) -> None:
    """Raise ValueError when an lwmm backbone freezes stages or BatchNorm statistics of random weights."""
    problems = frozen_without_weights_problems(cfg)
    if problems:
        raise ValueError('This config freezes a backbone that starts from random weights:\n  ' +
                         '\n  '.join(problems))


# -- what a stock config leaves behind --------------------------------------------------------------------------
def _backbone_class(backbone: dict):
    from lwmm.registry import MODELS
    return MODELS.module_dict.get(str(backbone.get('type')).split('.')[-1])


def stock_leftover_problems(cfg) -> List[str]:
    """Describe what a stock mmdet / mmseg config keeps that breaks once its backbone is lwmm's."""
    from lwmm.models.backbones.base import pretrained_fix
    model = cfg.get('model')
    backbone = model.get('backbone') if isinstance(model, dict) else None
    if not isinstance(backbone, dict) or not _is_lwmm_type(backbone) or _backbone_class(backbone) is None:
        return []
    problems = []
    if model.get('pretrained'):
        problems.append(f'model.pretrained={model["pretrained"]!r}: {pretrained_fix(_backbone_class(backbone))}.')
    head = model.get('bbox_head') if isinstance(model.get('bbox_head'), dict) else {}
    head_scope = head.get('_scope_', cfg.get('default_scope'))
    if head.get('type') == 'mmdet.SSDHead' or head.get('type') == 'SSDHead' and head_scope != 'lwmm':
        problems.append(f"model.bbox_head.type={head['type']!r}: mmdet 3.3.0's SSDHead never builds loss_cls, "
                        "which its predict reads, so the first validation crashes (AttributeError: 'SSDHead' "
                        "object has no attribute 'loss_cls'): write type='lwmm.SSDHead' (the same head, fixed; "
                        'same arguments and weights).')
    return problems


def check_stock_leftovers(cfg) -> None:
    """Raise ValueError when a stock config's leftovers would break its lwmm backbone's model."""
    problems = stock_leftover_problems(cfg)
    if problems:
        raise ValueError('This config keeps stock settings that do not work with its lwmm backbone:\n  ' +
                         '\n  '.join(problems))


def check_config(cfg) -> None:
    """All the checks above, in the order a user should fix them."""
    check_lwmm_types(cfg)
    check_stock_leftovers(cfg)
    check_model_channels(cfg)
    check_frozen_needs_weights(cfg)
