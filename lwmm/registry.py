"""lwmm's registries: children of mmengine's roots, scope ``lwmm``.

Configs keep their codebase as ``default_scope`` and name lwmm parts with the scope prefix
(``dict(type='lwmm.GhostNetV2')``). When mmengine meets the prefix it imports this module and then
each registry's ``locations``, so nothing has to be imported by hand.

Parts that extend one codebase's class (mmdet's ``SSDHead``, mmpretrain's ``LinearClsHead``) are
*deferred*: their module is imported when a config first asks for their name, not by ``import lwmm``,
so a user of one codebase needs none of the others installed (or importable: mmdet 3.3 raises
AssertionError on import against an mmcv it does not accept).
"""
import importlib
from typing import Dict, Optional, Tuple, Type

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

# the codebases lwmm's deferred parts extend, with the setup.py extra that installs each
EXTRAS = {'mmdet': 'det', 'mmseg': 'seg', 'mmpretrain': 'cls'}


def import_codebase(codebase: str, needed_by: str) -> None:
    """Import ``codebase`` (mmdet, mmseg, mmpretrain) or raise ImportError saying who needs it and how to
    install it."""
    try:
        importlib.import_module(codebase)
    except Exception as error:  # noqa: BLE001  (mmdet 3.3 raises AssertionError for an mmcv outside its range)
        state = 'is not installed' if isinstance(error, ModuleNotFoundError) and error.name == codebase \
            else f'failed to import ({type(error).__name__}: {error})'
        raise ImportError(
            f"{needed_by} extends a class of {codebase}, which {state}. Install {codebase} at the versions "
            f"lwmm is tested with: pip install 'lwmm[{EXTRAS[codebase]}]'.") from error


class UnknownTypeError(KeyError):
    """A type name close to one of lwmm's, which lwmm does not register (a typo); a KeyError as mmengine's."""

    def __str__(self) -> str:  # KeyError would print the message quoted, with its newlines escaped
        return str(self.args[0])


class LwmmRegistry(Registry):
    """mmengine's ``Registry`` plus deferred names: ``defer(name, module, codebase)`` makes ``get(name)``
    import ``module`` (which registers ``name``) the first time it is asked for, after checking that
    ``codebase`` imports. A miss that is close to one of lwmm's names (``lwmm.GhostnetV2``) raises
    UnknownTypeError naming it; other misses return None, as mmengine's registries do.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._deferred: Dict[str, Tuple[str, str]] = {}

    @property
    def deferred(self) -> Dict[str, Tuple[str, str]]:
        """``{name: (module, codebase)}`` for names registered on first use (registered or not yet)."""
        self.import_from_location()
        return dict(self._deferred)

    def defer(self, name: str, module: str, codebase: str) -> None:
        self._deferred[name] = (module, codebase)

    def get(self, key: str) -> Optional[Type]:
        self.import_from_location()  # the locations declare the deferred names
        scope, name = self.split_scope_key(key)
        if scope in (None, self.scope) and name in self._deferred and name not in self._module_dict:
            module, codebase = self._deferred[name]
            import_codebase(codebase, f'{self.scope}.{name}')
            importlib.import_module(module)
        found = super().get(key)
        if found is None and scope in (None, self.scope):
            from lwmm.models.layers.validation import did_you_mean
            guess = did_you_mean(name, list(self._module_dict) + list(self._deferred))
            if guess is not None:
                raise UnknownTypeError(
                    f"{self.scope}.{name} is not in lwmm's {self.name} registry: did you mean "
                    f"type='{self.scope}.{guess}'? (lwmm's {self.name}s: {', '.join(sorted(self._module_dict))})")
        return found

    def __contains__(self, key: str) -> bool:
        try:
            return super().__contains__(key)
        except UnknownTypeError:
            return False


MODELS = LwmmRegistry('model', parent=MMENGINE_MODELS, scope='lwmm', locations=['lwmm.models'])
HOOKS = LwmmRegistry('hook', parent=MMENGINE_HOOKS, scope='lwmm', locations=['lwmm.engine'])
DATA_SAMPLERS = LwmmRegistry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='lwmm', locations=['lwmm.engine'])
TRANSFORMS = LwmmRegistry('transform', parent=MMENGINE_TRANSFORMS, scope='lwmm', locations=['lwmm.datasets'])
DATASETS = LwmmRegistry('dataset', parent=MMENGINE_DATASETS, scope='lwmm', locations=['lwmm.datasets'])
OPTIM_WRAPPERS = LwmmRegistry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='lwmm', locations=['lwmm.engine'])
MODEL_WRAPPERS = LwmmRegistry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope='lwmm', locations=['lwmm.engine'])
