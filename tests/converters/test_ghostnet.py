import pytest
import timm
import torch
import torch.nn as nn

from lwmm.analysis.config_models import build_model_from_config
from lwmm.converters import available_timm_models, convert_timm, timm_config
from lwmm.converters.ghostnet import GHOSTNET_MODELS

NAMES = ['ghostnet_050', 'ghostnet_100', 'ghostnet_130', 'ghostnetv2_100', 'ghostnetv2_130', 'ghostnetv2_160']


def _timm_model(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    # timm's default head init gives logits of about 0.05: widen them so that 1e-4 is a tight bound
    nn.init.normal_(model.classifier.weight, std=0.5)
    return model.eval()


def _lwmm_classifier(name: str) -> nn.Module:
    """The model of the config that timm2lwmm and timm:// name for ``name``'s weights, as shipped."""
    return build_model_from_config(timm_config(name)).eval()


@pytest.fixture(scope='module')
def timm_100():
    return _timm_model('ghostnet_100')


@pytest.fixture(scope='module')
def timm_v2_100():
    return _timm_model('ghostnetv2_100')


def test_registered_names_and_configs():
    assert set(NAMES) <= set(available_timm_models())
    assert timm_config('ghostnet_050') == 'cls/ghostnet-0.5x_in1k.py'
    assert timm_config('ghostnet_130') == 'cls/ghostnet-1.3x_in1k.py'
    assert timm_config('ghostnetv2_160') == 'cls/ghostnetv2-1.6x_in1k.py'
    assert set(GHOSTNET_MODELS) == set(NAMES)


def test_shipped_configs_are_the_papers_classifiers():
    """Each width's config: its backbone and width, the paper's 1280-wide head with dropout 0.2, and the
    label-smoothing loss of the recipe."""
    for name, (backbone, widen_factor, _) in GHOSTNET_MODELS.items():
        model = _lwmm_classifier(name)
        assert type(model.backbone).__name__ == backbone and model.backbone.widen_factor == widen_factor, name
        assert model.head.mid_channels == [1280] and model.head.dropout_rate == 0.2, name
        assert type(model.head.loss_module).__name__ == 'LabelSmoothLoss', name


@pytest.mark.parametrize('name', NAMES)
def test_logits_match_timm(name):
    timm_model = _timm_model(name)
    model = _lwmm_classifier(name)
    state = convert_timm(name, timm_model.state_dict())
    assert state['head.layers.0.fc.weight'].dim() == 2
    model.load_state_dict(state, strict=True)
    torch.manual_seed(1)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected = timm_model(x)
        logits = model(x, mode='tensor')
    diff = (logits - expected).abs().max().item()
    print(f'{name}: max |logit diff| = {diff:.2e} (logit scale {expected.abs().max().item():.2f})')
    assert expected.std() > 0.1  # a meaningful comparison, not of near-constant outputs
    assert diff <= 1e-4


def test_wrong_version_or_width(timm_100, timm_v2_100):
    with pytest.raises(ValueError, match=r'missing \d+ keys: .*dfc'):
        convert_timm('ghostnetv2_100', timm_100.state_dict())
    with pytest.raises(ValueError, match=r'unexpected keys: .*dfc'):
        convert_timm('ghostnet_100', timm_v2_100.state_dict())
    with pytest.raises(ValueError, match='wrong shapes'):
        convert_timm('ghostnet_130', timm_100.state_dict())


def test_missing_extra_and_unknown_keys(timm_100):
    state = dict(timm_100.state_dict())
    state.pop('blocks.3.0.se.conv_reduce.weight')
    with pytest.raises(ValueError, match=r'missing 1 keys: backbone\.stages\.2\.0\.se\.squeeze\.weight'):
        convert_timm('ghostnet_100', state)
    state = dict(timm_100.state_dict(), **{'blocks.0.0.ghost1.extra.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match="no rule maps: blocks.0.0.ghost1.extra.weight"):
        convert_timm('ghostnet_100', state)
    state = dict(timm_100.state_dict(), **{'blocks.10.0.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match='no rule maps'):
        convert_timm('ghostnet_100', state)
    with pytest.raises(ValueError, match='known'):
        convert_timm('ghostnet_999', timm_100.state_dict())


def test_profiler_counters_ignored(timm_100):
    state = dict(timm_100.state_dict(), total_ops=torch.zeros(1), total_params=torch.zeros(1))
    assert convert_timm('ghostnet_100', state).keys() == convert_timm('ghostnet_100', timm_100.state_dict()).keys()
