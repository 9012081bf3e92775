"""Fixes for the pinned stack: where each lives. None is applied by importing lwmm, which patches no
other package's class and leaves torch's weights-only allow-list as it was.

1. torch >= 2.6 loads checkpoints with ``weights_only=True``, which refuses the ``HistoryBuffer`` and
   NumPy objects of the checkpoints mmengine 0.10.7 writes (``--resume``, ``load_from``, tools/test.py).
   lwmm's tools write plain checkpoints and read mmengine's own inside their load calls only, through
   harmless stand-ins (``lwmm.engine.checkpoint_safety``, docs/checkpoint_safety.md).

(mmdet 3.3.0's SSDHead predict bug is fixed by ``lwmm.SSDHead``, lwmm/models/heads/ssd_head.py, which
lwmm's SSD configs name: nothing here touches mmdet.)
"""
