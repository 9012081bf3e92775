"""tests/conftest.py's shared state guards: a default scope that one test sets is gone in the next."""
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
