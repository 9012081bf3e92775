"""Dataset-side pieces. Importing registers the multi-scale dataset and transform wrappers; the shapes
generator (``lwmm.datasets.shapes``) and the data checks are imported by the tools that use them."""
from . import multiscale  # noqa: F401
