"""The scripts under tools/ are not a package: their tests load them by path through ``load_tool``."""
import importlib.util
import os.path as osp

import pytest


@pytest.fixture(scope='session')
def load_tool(repo_root):
    """``load_tool('tools/analysis/get_flops.py')`` -> that script as a module, executed once per session.

    Every test that loads a path gets the same module object, so a test that changes one of its attributes
    must do it through ``monkeypatch``, which undoes the change."""
    modules = {}

    def load(path):
        if path not in modules:
            name = osp.splitext(osp.basename(path))[0]
            spec = importlib.util.spec_from_file_location(name, osp.join(repo_root, path))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            modules[path] = module
        return modules[path]

    return load
