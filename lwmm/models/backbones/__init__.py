"""Backbones, one file per family; each registers itself in ``lwmm.registry.MODELS``."""
from . import dy_mobilenet, dy_resnet, ghostnet, mobilevit, oct_mobilenet, oct_resnet  # noqa: F401
from .base import StagedBackbone  # noqa: F401
