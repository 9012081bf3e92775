"""Heads, only where OpenMMLab's own cannot serve.

Each extends one codebase's head, so each is deferred (lwmm.registry): its module, and the codebase, are
imported when a config names it (``type='lwmm.SSDHead'``) or code imports it
(``from lwmm.models.heads import SSDHead``), never by ``import lwmm``.
"""
from lwmm.registry import MODELS

# name: (module, codebase it extends)
DEFERRED = {
    'DropoutLinearClsHead': ('lwmm.models.heads.linear_cls_head', 'mmpretrain'),
    'SSDHead': ('lwmm.models.heads.ssd_head', 'mmdet'),
}
for _name, (_module, _codebase) in DEFERRED.items():
    MODELS.defer(_name, _module, _codebase)


def __getattr__(name: str):
    if name not in DEFERRED:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return MODELS.get(name)
