"""Runs after tests/test_conftest.py (pytest collects a folder's files in name order): the default scope its
module-scoped fixture set is gone; fails without conftest's _restore_default_scope_per_module."""
from mmengine.registry import DefaultScope

MODULE_PROBE = 'lwmm-tests-module-scope-probe'  # tests/test_conftest.py's


def test_the_next_module_does_not_inherit_a_module_fixture_scope():
    assert not DefaultScope.check_instance_created(MODULE_PROBE)
