"""Fixes for the pinned stack, applied when lwmm is imported (every tool and config imports lwmm).

1. torch >= 2.6 loads checkpoints with ``weights_only=True``. mmengine 0.10.7 stores numpy objects in a
   checkpoint's ``meta`` (the seed, history buffers of the message hub), so ``--resume`` and
   ``load_from`` fail with an UnpicklingError. Instead of turning ``weights_only`` off (which would allow
   arbitrary code in a downloaded checkpoint), the numpy reconstruction functions and types that those
   checkpoints contain are added to torch's allow-list.
2. mmdet 3.3.0's ``SSDHead`` never builds ``loss_cls``, yet ``BaseDenseHead._predict_by_feat_single``
   reads ``self.loss_cls``: SSD/SSDLite crash at predict. ``SSDHead.__init__`` is wrapped to set
   ``loss_cls = None`` (as a plain attribute, so a subclass that assigns a real loss module still does),
   which is what the base head's ``getattr(self.loss_cls, 'custom_cls_channels', False)`` expects.

Each fix is idempotent and records itself in ``APPLIED``; tests check each one is needed and works.
"""
import functools
import importlib

APPLIED = set()


def _numpy_safe_globals():
    import numpy as np
    safe = [np.ndarray, np.dtype]
    for module_name, name in (('numpy.core.multiarray', '_reconstruct'), ('numpy.core.multiarray', 'scalar'),
                              ('numpy._core.multiarray', '_reconstruct'), ('numpy._core.multiarray', 'scalar')):
        try:
            safe.append(getattr(importlib.import_module(module_name), name))
        except (ImportError, AttributeError):
            continue
    # np.dtype('float64') pickles as its class (numpy.dtypes.Float64DType) since numpy 1.25.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe.extend(getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType'))
    safe.extend({type(np.dtype(code).type(0)) for code in '?bBhHiIlLqQefdgFDG'})
    return safe


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read the checkpoints mmengine 0.10.7 writes."""
    if 'weights_only' in APPLIED:
        return
    import torch
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch < 2.4 loads with weights_only=False by default
        return
    safe = _numpy_safe_globals()
    from mmengine.logging import HistoryBuffer
    safe.append(HistoryBuffer)
    import codecs
    safe.append(codecs.encode)  # numpy scalars pickle their raw bytes through codecs.encode
    # HistoryBuffer pickles its statistics functions as getattr(HistoryBuffer, 'min'). Allowing getattr
    # lets the loader look attributes up, not call them: torch's weights-only REDUCE still calls only
    # allow-listed callables.
    safe.append(getattr)
    add_safe_globals(safe)
    APPLIED.add('weights_only')


def fix_ssd_head_loss_cls() -> None:
    """Give mmdet 3.3.0's SSDHead the ``loss_cls`` attribute its predict path reads."""
    if 'ssd_head' in APPLIED:
        return
    try:
        from mmdet.models.dense_heads import SSDHead
    except ImportError:  # mmdet not installed: nothing to fix
        return
    original_init = SSDHead.__init__

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if 'loss_cls' not in self._modules and 'loss_cls' not in self.__dict__:
            self.loss_cls = None

    SSDHead.__init__ = __init__
    APPLIED.add('ssd_head')


def apply_all() -> None:
    allow_mmengine_checkpoints()
    fix_ssd_head_loss_cls()


apply_all()
