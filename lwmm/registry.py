"""lwmm's registries: children of mmengine's roots, scope ``lwmm``.

Configs keep their codebase as ``default_scope`` and name lwmm parts with the scope prefix
(``dict(type='lwmm.GhostNetV2')``). When mmengine meets the prefix it imports this module and then
each registry's ``locations``, so nothing has to be imported by hand.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='lwmm', locations=['lwmm.models'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='lwmm', locations=['lwmm.engine'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='lwmm', locations=['lwmm.engine'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='lwmm', locations=['lwmm.datasets'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='lwmm', locations=['lwmm.datasets'])

from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS  # noqa: E402

OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='lwmm', locations=['lwmm.engine'])

from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS  # noqa: E402

MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope='lwmm', locations=['lwmm.engine'])
