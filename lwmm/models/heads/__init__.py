"""Heads, only where OpenMMLab's own cannot serve."""
import importlib.util

if importlib.util.find_spec('mmpretrain') is not None:  # classification heads extend mmpretrain's
    from . import linear_cls_head  # noqa: F401
