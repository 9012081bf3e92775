"""Shared fixtures: the repository's paths, a small shapes dataset, and tiny batches per task."""
import os
import os.path as osp

# Busy-waiting OpenMP threads make small CPU ops many times slower when other processes share the cores.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')


@pytest.fixture(scope='session')
def repo_root():
    return ROOT


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory):
    """A small shapes dataset in all three layouts, written once per session."""
    from lwmm.datasets.shapes import make_shapes
    root = str(tmp_path_factory.mktemp('shapes'))
    make_shapes(root, scale=0.1, seed=0)
    return root


@pytest.fixture(autouse=True, scope='session')
def _few_threads():
    import torch
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
