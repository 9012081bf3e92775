"""Dataset-side pieces: the multi-scale dataset and transform wrappers (and the shapes generator)."""
from . import multiscale  # noqa: F401
