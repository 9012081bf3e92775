import os.path as osp

import pytest
import timm
import torch
from mmengine.runner import load_checkpoint

from lwmm.analysis.config_models import build_model_from_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def timm2lwmm(load_tool):
    return load_tool('tools/model_converters/timm2lwmm.py')


@pytest.mark.parametrize('name', ['ghostnet_050', 'mobilevit_xxs'])
def test_converted_checkpoint_loads_strictly_and_matches(timm2lwmm, tmp_path, name):
    reference = timm.create_model(name).eval()
    src, dst = tmp_path / 'timm.pth', tmp_path / 'lwmm.pth'
    torch.save(reference.state_dict(), src)
    timm2lwmm.main(['--model', name, str(src), str(dst)])
    config = osp.join(ROOT, torch.load(dst)['meta']['config'])
    model = build_model_from_config(config).eval()
    load_checkpoint(model, str(dst), strict=True)
    size = 256 if 'mobilevit' in name else 224
    x = torch.rand(1, 3, size, size)
    with torch.no_grad():
        expected = reference(x)
        got = model(x, mode='tensor')
    assert (got - expected).abs().max() < 1e-4


def test_unknown_model_lists_known(timm2lwmm, tmp_path):
    torch.save({}, tmp_path / 'x.pth')
    with pytest.raises(ValueError, match='ghostnet_100'):
        timm2lwmm.main(['--model', 'resnet34', str(tmp_path / 'x.pth'), str(tmp_path / 'y.pth')])


def test_backbone_only_weights_are_refused(timm2lwmm, tmp_path):
    torch.save({}, tmp_path / 'x.pth')
    with pytest.raises(ValueError, match=r"'resnet50'.*backbone only.*timm://resnet50"):
        timm2lwmm.main(['--model', 'resnet50', str(tmp_path / 'x.pth'), str(tmp_path / 'y.pth')])


def test_huawei_release_converts(timm2lwmm, tmp_path):
    """Huawei's GhostNet release: timm's names under ``state_dict``, ``module.``-prefixed, with thop counters."""
    reference = timm.create_model('ghostnet_050').eval()
    release = {f'module.{k}': v for k, v in reference.state_dict().items()}
    release['module.conv_stem.total_ops'] = torch.zeros(1, dtype=torch.float64)
    torch.save(dict(epoch=1, state_dict=release), tmp_path / 'release.pth')
    timm2lwmm.main(['--model', 'ghostnet_050', str(tmp_path / 'release.pth'), str(tmp_path / 'lwmm.pth')])
    state = torch.load(tmp_path / 'lwmm.pth')['state_dict']
    assert torch.equal(state['backbone.stages.0.0.conv.weight'], reference.conv_stem.weight)


def test_mismatched_state_dict(timm2lwmm, tmp_path):
    torch.save(timm.create_model('ghostnet_050').state_dict(), tmp_path / 'x.pth')
    with pytest.raises(ValueError):
        timm2lwmm.main(['--model', 'ghostnet_100', str(tmp_path / 'x.pth'), str(tmp_path / 'y.pth')])
    assert not (tmp_path / 'y.pth').exists()


def test_corrupt_source(timm2lwmm, tmp_path):
    (tmp_path / 'x.pth').write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match='not a readable torch checkpoint'):
        timm2lwmm.main(['--model', 'ghostnet_100', str(tmp_path / 'x.pth'), str(tmp_path / 'y.pth')])
