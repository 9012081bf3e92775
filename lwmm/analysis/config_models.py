"""The model of a config, built as the config says: the one way tools, analysis and tests build a model.

A config is named by a path, by its place under this repository's ``configs/`` (``'cls/ghostnet-1.0x_in1k.py'``,
as ``lwmm.converters.timm_config`` names them), by a codebase's own config (``'mmpretrain::resnet/
resnet18_8xb32_in1k.py'``, mmengine's ``get_config``) or given as an ``mmengine.Config``. So what a tool times,
counts or converts, and what a test compares with timm, is the shipped config's model, not a copy of it.
"""
import copy
import os.path as osp
from typing import Union

import torch.nn as nn

#: The repository's root and its configs/ (present in a source checkout, the supported install).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS_DIR = osp.join(REPO_ROOT, 'configs')


def config_path(config: str) -> str:
    """The file of ``config``: a path as given, else the same name under the repository's ``configs/``."""
    if osp.isfile(config):
        return config
    shipped = osp.join(CONFIGS_DIR, config)
    if osp.isfile(shipped):
        return shipped
    raise FileNotFoundError(f'config {config!r} does not exist (tried it as a path and under {CONFIGS_DIR}): '
                            "give a path such as configs/cls/ghostnet-1.0x_in1k.py, a name under configs/ such "
                            "as 'cls/ghostnet-1.0x_in1k.py', or a codebase's config such as "
                            "'mmpretrain::resnet/resnet18_8xb32_in1k.py'")


def repo_relative(path: str) -> str:
    """A config path as benchmark records name it: relative to the repository."""
    return osp.relpath(path, REPO_ROOT)


def load_config(config):
    """``config`` (see the module docstring) as an ``mmengine.Config``; a Config is returned as it is."""
    from mmengine.config import Config
    if isinstance(config, Config):
        return config
    if not isinstance(config, str):
        raise TypeError(f'config must be a path, a name under configs/ or an mmengine Config, not '
                        f'{type(config).__name__}')
    if '::' in config:
        from mmengine.hub import get_config
        return get_config(config)
    return Config.fromfile(config_path(config))


def build_model_from_config(config: Union[str, object]) -> nn.Module:
    """The model of ``config`` with random weights, in train mode, SyncBN reverted to BatchNorm.

    Built in the config's ``default_scope`` (mmpretrain's ``MODELS`` for a classifier, mmdet's / mmseg's
    for the other tasks) without changing the process's default scope. Weights the config names
    (``model.pretrained``, a backbone's ``Pretrained`` init_cfg) are neither loaded nor kept: nothing is
    downloaded, and ``load_state_dict`` / ``load_checkpoint`` give the model its weights.
    """
    import lwmm  # noqa: F401  registers lwmm's modules
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS
    cfg = load_config(config)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('pretrained', None)
    backbone = model_cfg.get('backbone')
    if backbone is not None and (backbone.get('init_cfg') or {}).get('type') == 'Pretrained':
        backbone.pop('init_cfg')
    model_cfg.setdefault('_scope_', cfg.get('default_scope', 'mmpretrain'))
    return revert_sync_batchnorm(MODELS.build(model_cfg))
