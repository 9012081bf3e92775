import pytest
import timm
import torch
import torch.nn as nn

from lwmm.analysis.config_models import build_model_from_config, load_config
from lwmm.converters import available_timm_models, convert_timm, timm_config
from lwmm.converters.mobilevit import MOBILEVIT_MODELS

NAMES = ['mobilevit_xxs', 'mobilevit_xs', 'mobilevit_s']


def _timm_model(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
        elif isinstance(m, nn.LayerNorm):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.head.fc.weight.data.normal_(0, 0.5)  # timm's tiny init would make every logit look alike
    return model.eval()


def _lwmm_classifier(name: str) -> nn.Module:
    """The model of the config that timm2lwmm and timm:// name for ``name``'s weights, as shipped."""
    return build_model_from_config(timm_config(name)).eval()


def test_registered_names_and_configs():
    assert set(NAMES) <= set(available_timm_models())
    assert set(MOBILEVIT_MODELS) == set(NAMES)
    assert timm_config('mobilevit_xxs') == 'cls/mobilevit-xxs_in1k.py'
    assert timm_config('mobilevit_xs') == 'cls/mobilevit-xs_in1k.py'
    assert timm_config('mobilevit_s') == 'cls/mobilevit-s_in1k.py'


def test_shipped_configs_are_the_papers_classifiers():
    """Each size's config: its arch, dropout 0.1 before the linear classifier."""
    for name, (arch, config) in MOBILEVIT_MODELS.items():
        assert load_config(config).model.backbone.arch == arch, name
        assert _lwmm_classifier(name).head.dropout.p == 0.1, name


@pytest.mark.parametrize('name,size', [('mobilevit_xxs', (256, 256)), ('mobilevit_xs', (256, 256)),
                                       ('mobilevit_s', (256, 256)), ('mobilevit_xxs', (200, 232))])
def test_logits_match_timm(name, size):
    timm_model = _timm_model(name)
    model = _lwmm_classifier(name)
    model.load_state_dict(convert_timm(name, timm_model.state_dict()), strict=True)
    torch.manual_seed(1)
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        expected = timm_model(x)
        logits = model(x, mode='tensor')
    diff = (logits - expected).abs().max().item()
    print(f'{name} {size}: max |logit diff| = {diff:.2e} (logit scale {expected.abs().max().item():.2f})')
    assert expected.std() > 0.1 and (expected[0] - expected[1]).abs().max() > 0.1
    assert diff <= 1e-4


def test_head_dropout_is_applied_in_training():
    model = _lwmm_classifier('mobilevit_xxs')
    feats = (torch.ones(4, 320), )
    model.head.train()
    assert (model.head.pre_logits(feats) == 0).any()
    model.head.eval()
    assert torch.equal(model.head.pre_logits(feats), feats[0])


def test_wrong_model_is_reported():
    xxs = _timm_model('mobilevit_xxs').state_dict()
    with pytest.raises(ValueError, match='wrong shapes'):
        convert_timm('mobilevit_s', xxs)
    with pytest.raises(ValueError, match='no rule maps'):
        convert_timm('mobilevit_xxs', {**xxs, 'foo.weight': torch.zeros(1)})
    partial = {k: v for k, v in xxs.items() if not k.startswith('final_conv')}
    with pytest.raises(ValueError, match='missing'):
        convert_timm('mobilevit_xxs', partial)
    with pytest.raises(ValueError, match='stages'):
        convert_timm('mobilevit_xxs', {'head.fc.weight': torch.zeros(1)})


@pytest.mark.parametrize('name', NAMES)
def test_named_config_reads_timms_input(name):
    """The config that timm2lwmm names for the weights feeds them as timm does: RGB in [0, 1], no mean/std."""
    preprocessor = load_config(timm_config(name)).data_preprocessor
    assert preprocessor.mean == [0, 0, 0] and preprocessor.std == [255, 255, 255] and preprocessor.to_rgb
