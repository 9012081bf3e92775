"""lwmm: lightweight vision backbones for OpenMMLab 2.0.

Importing lwmm registers every lwmm module in lwmm's registries (scope 'lwmm'), so configs of mmpretrain,
mmdet and mmseg can name ``dict(type='lwmm.GhostNetV2', ...)``. It imports none of those codebases: the
parts that extend one (lwmm.models.heads) are imported when a config names them.
"""
from .version import __version__  # noqa: F401
from . import registry  # noqa: F401,E402
from . import datasets, engine, models  # noqa: F401,E402
from .converters import scheme  # noqa: F401,E402  (adds the timm:// checkpoint scheme to mmengine)
