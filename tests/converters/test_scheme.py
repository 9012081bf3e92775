"""The timm:// checkpoint scheme through its real code path: timm's hub download from an offline Hugging
Face cache of randomly initialised timm weights (the ``offline_timm_hub`` fixture), mmengine's loaders."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import _load_checkpoint

import lwmm  # noqa: F401  (registers timm://)
from lwmm.converters import convert_timm
from lwmm.converters.scheme import load_from_timm

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


def _build(config: str, backbone_init_cfg=None):
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    init_default_scope(cfg.default_scope)
    if backbone_init_cfg is not None:
        cfg.model.backbone.init_cfg = backbone_init_cfg
    from mmengine.registry import MODELS
    return cfg, MODELS.build(cfg.model)


def test_scheme_registered_as_a_new_prefix_only():
    assert CheckpointLoader._schemes['timm://'] is load_from_timm
    local = CheckpointLoader._get_checkpoint_loader('/some/file.pth')
    assert local.__name__ == 'load_from_local'  # mmengine's own local loader still serves plain paths
    assert CheckpointLoader._get_checkpoint_loader('torchvision://resnet18').__name__ == 'load_from_torchvision'
    from lwmm.converters import scheme
    scheme.register()  # idempotent: a second import does not raise mmengine's "already registered"
    assert CheckpointLoader._schemes['timm://'] is load_from_timm


def test_loads_converted_weights(offline_timm_hub):
    checkpoint = _load_checkpoint('timm://ghostnetv2_100.in1k')
    expected = convert_timm('ghostnetv2_100', offline_timm_hub.state_dict('ghostnetv2_100.in1k'))
    assert checkpoint['meta']['converted_from'] == 'timm/ghostnetv2_100.in1k'
    assert checkpoint['state_dict'].keys() == expected.keys()
    assert all(torch.equal(checkpoint['state_dict'][k], v) for k, v in expected.items())
    assert any(k.startswith('head.') for k in expected) and any(k.startswith('backbone.') for k in expected)


@pytest.mark.parametrize('config, tag', [
    ('det/ssdlite_ghostnetv2_coco.py', 'ghostnetv2_100.in1k'),
    ('seg/deeplabv3_mobilevit-s_ade20k.py', 'mobilevit_s.cvnets_in1k'),
    ('det/retinanet_ghostnet_fpn_coco.py', 'ghostnet_100.in1k'),
])
def test_config_backbone_equals_converted_timm(offline_timm_hub, config, tag):
    explicit = dict(type='Pretrained', checkpoint=f'timm://{tag}', prefix='backbone.')
    cfg, model = _build(config)
    if cfg.model.backbone.get('init_cfg') != explicit:  # the config names its source; else test the mechanism
        cfg, model = _build(config, explicit)
    model.init_weights()
    arch = tag.split('.')[0]
    converted = convert_timm(arch, offline_timm_hub.state_dict(tag))
    state = model.backbone.state_dict()
    assert len(state) > 50
    for key, value in state.items():
        assert torch.equal(value, converted[f'backbone.{key}']), key


@pytest.mark.parametrize('config, tag, size', [
    ('cls/ghostnetv2-1.0x_in1k.py', 'ghostnetv2_100.in1k', 224),
    ('cls/mobilevit-xxs_in1k.py', 'mobilevit_xxs.cvnets_in1k', 256),
])
def test_classifier_logits_equal_timm(offline_timm_hub, config, tag, size):
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    init_default_scope(cfg.default_scope)
    cfg.model.init_cfg = dict(type='Pretrained', checkpoint=f'timm://{tag}')  # no prefix: the whole classifier
    from mmengine.registry import MODELS
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    reference = offline_timm_hub.timm_model(tag)
    torch.manual_seed(0)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected, got = reference(x), model(x, mode='tensor')
    assert expected.std() > 0.01
    assert (got - expected).abs().max() <= 1e-4


def test_offline_with_empty_cache(offline_timm_hub, tmp_path, monkeypatch):
    from huggingface_hub import constants
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(tmp_path / 'empty'))
    with pytest.raises(ValueError) as error:
        _load_checkpoint('timm://ghostnetv2_100.in1k')
    message = str(error.value)
    for part in ('ghostnetv2_100.in1k', 'HF_HUB_OFFLINE', 'timm/ghostnetv2_100.in1k', 'by hand',
                 'checkpoint=<that file>'):
        assert part in message, (part, message)


def test_unknown_model_lists_known():
    with pytest.raises(ValueError, match=r"no key map for timm model 'resnet34'.*ghostnetv2_100.*mobilevit_s"):
        _load_checkpoint('timm://resnet34.a1_in1k')


def test_unknown_tag_lists_published():
    with pytest.raises(ValueError, match=r'ghostnetv2_100\.in1k'):
        _load_checkpoint('timm://ghostnetv2_100.in22k')


def test_file_of_another_model(offline_timm_hub, tmp_path, monkeypatch):
    """The cached file under ghostnetv2_100's name holds ghostnet_100's weights: the keys do not map."""
    import shutil
    from huggingface_hub import constants
    cache = tmp_path / 'hub'
    shutil.copytree(offline_timm_hub.cache, cache, symlinks=True)
    target = cache / 'models--timm--ghostnetv2_100.in1k'
    snapshot = next((target / 'snapshots').iterdir()) / 'model.safetensors'
    snapshot.unlink()
    shutil.copy(offline_timm_hub.add('ghostnet_100.in1k'), snapshot)
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(cache))
    with pytest.raises(ValueError, match=r"timm://ghostnetv2_100.in1k.*not timm 'ghostnetv2_100'.*missing"):
        _load_checkpoint('timm://ghostnetv2_100.in1k')


def test_bare_architecture_takes_timm_default_tag(offline_timm_hub):
    offline_timm_hub.add('ghostnet_100.in1k')
    bare, tagged = _load_checkpoint('timm://ghostnet_100'), _load_checkpoint('timm://ghostnet_100.in1k')
    assert bare['meta']['converted_from'] == 'timm/ghostnet_100'
    assert all(torch.equal(bare['state_dict'][k], v) for k, v in tagged['state_dict'].items())


def test_untrained_tag_is_refused():
    with pytest.raises(ValueError, match=r"timm publishes no weights for 'mobilenetv2_075'"):
        _load_checkpoint('timm://mobilenetv2_075')
