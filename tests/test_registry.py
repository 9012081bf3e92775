"""lwmm.registry: deferred names are registered on first lookup, and the config check still sees them."""
import pytest
from mmengine.config import Config

from lwmm.registry import MODELS, LwmmRegistry


def test_deferred_name_registers_on_first_lookup():
    registry = LwmmRegistry('probe')
    registry.defer('Probe', 'lwmm.models.heads.linear_cls_head', 'mmpretrain')
    assert 'Probe' in registry.deferred and 'Probe' not in registry.module_dict
    # the module registers its class in lwmm's MODELS, not in this probe: the lookup imports it, then misses
    assert registry.get('Probe') is None
    assert 'DropoutLinearClsHead' in MODELS.module_dict


def test_deferred_lookup_in_another_scope_imports_nothing():
    registry = LwmmRegistry('probe', scope='probe')
    registry.defer('Probe', 'no.such.module', 'mmdet')
    assert registry.get('other.Probe') is None  # another scope's name: not this registry's deferred one
    with pytest.raises(ModuleNotFoundError, match="No module named 'no'"):
        registry.get('probe.Probe')


def test_heads_are_deferred_with_their_codebase():
    assert MODELS.deferred['SSDHead'][1] == 'mmdet'
    assert MODELS.deferred['DropoutLinearClsHead'][1] == 'mmpretrain'


def test_config_check_names_an_unprefixed_deferred_head(tmp_path):
    """check_lwmm_types sees deferred heads before they are imported, as it sees registered classes."""
    from lwmm.engine.config_checks import unprefixed_lwmm_types
    cfg = Config(dict(default_scope='mmpretrain', model=dict(
        type='ImageClassifier', head=dict(type='DropoutLinearClsHead', num_classes=3, in_channels=8))))
    assert unprefixed_lwmm_types(cfg) == [
        "model.head.type='DropoutLinearClsHead' is an lwmm model that the mmpretrain scope cannot see: "
        "write type='lwmm.DropoutLinearClsHead'"]
