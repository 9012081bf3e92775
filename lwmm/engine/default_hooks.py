"""The hooks lwmm's tools add to every training: non-finite loss checks, generator state in checkpoints
and checkpoints in plain types (which torch's weights-only loader reads with no allow-list).

They are added by the launch path (``tools/train.py``, ``tools/test.py``) rather than by the default
runtimes because config inheritance cannot carry them everywhere: ``custom_hooks`` is a list, which a
config that sets its own (EMA, the temperature schedule) replaces, and ``default_hooks`` cannot be
declared in a runtime base next to a schedule base that also declares it (mmseg's schedules do;
mmengine rejects the same key in two sibling bases). A config opts out of one with
``default_hooks = dict(non_finite_loss=None)`` (or ``rng_state=None``); a script that builds its own
``Runner`` calls :func:`add_default_hooks` on the config first.
"""
import copy

#: name in ``cfg.default_hooks`` -> hook config
LWMM_DEFAULT_HOOKS = dict(
    non_finite_loss=dict(type='lwmm.NonFiniteLossHook'),
    rng_state=dict(type='lwmm.RandomStateHook'),
    plain_checkpoint=dict(type='lwmm.PlainCheckpointHook'),
)


def add_default_hooks(cfg) -> None:
    """Add :data:`LWMM_DEFAULT_HOOKS` to ``cfg.default_hooks``, unless the config names them itself
    (its own settings are kept) or sets them to None (removed: mmengine accepts None only for its own
    default hooks)."""
    if cfg.get('default_hooks') is None:
        cfg.default_hooks = dict()
    hooks = cfg.default_hooks  # the Config's own copy: assigning converts a dict to a ConfigDict
    for name, hook in LWMM_DEFAULT_HOOKS.items():
        if name in hooks and hooks[name] is None:
            hooks.pop(name)
        elif name not in hooks:
            hooks[name] = copy.deepcopy(hook)
