"""Fixes for the pinned stack, applied when lwmm is imported (every tool and config imports lwmm).

1. torch >= 2.6 loads checkpoints with ``weights_only=True``, which refuses the ``HistoryBuffer`` and
   NumPy objects of the checkpoints mmengine 0.10.7 writes (``--resume``, ``load_from``, tools/test.py).
   lwmm's tools write plain checkpoints and read mmengine's own inside their load calls only, through
   harmless stand-ins (``lwmm.engine.checkpoint_safety``, docs/checkpoint_safety.md).
2. mmdet 3.3.0's ``SSDHead`` never builds ``loss_cls``, yet ``BaseDenseHead._predict_by_feat_single``
   reads ``self.loss_cls``: SSD/SSDLite crash at predict. ``SSDHead.__init__`` is wrapped to set
   ``loss_cls = None`` (as a plain attribute, so a subclass that assigns a real loss module still does),
   which is what the base head's ``getattr(self.loss_cls, 'custom_cls_channels', False)`` expects.

Each fix is idempotent and records itself in ``APPLIED``; tests check each one is needed and works.
"""
import functools

APPLIED = set()


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
    fix_ssd_head_loss_cls()


apply_all()
