"""tests/conftest.py's shared state guards: a default scope that one test sets is gone in the next, and one that a
module-scoped fixture sets is gone in the next module (tests/test_conftest_next_module.py)."""
import pytest
from mmengine.registry import DefaultScope

PROBE = 'lwmm-tests-scope-probe'


def test_a_test_may_set_the_default_scope():
    DefaultScope.get_instance(PROBE, scope_name='mmpretrain')  # what a Runner or init_default_scope does
    assert DefaultScope.get_current_instance().instance_name == PROBE


def test_the_next_test_does_not_inherit_it():
    """Runs after the test above (pytest keeps a module's order) and alone; fails without the autouse
    fixture ``_restore_default_scope``."""
    assert not DefaultScope.check_instance_created(PROBE)
    current = DefaultScope.get_current_instance()
    assert current is None or current.instance_name != PROBE


MODULE_PROBE = 'lwmm-tests-module-scope-probe'


@pytest.fixture(scope='module')
def module_scope_probe():
    return DefaultScope.get_instance(MODULE_PROBE, scope_name='mmdet')  # what a module-scoped Runner fixture does


def test_a_module_fixture_may_set_the_default_scope(module_scope_probe):
    assert DefaultScope.get_current_instance().instance_name == MODULE_PROBE
