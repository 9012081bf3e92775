import copy
import math

import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from lwmm.analysis.complexity import count_complexity
from lwmm.models.backbones.ghostnet import GhostNet, GhostNetV2
from lwmm.models.layers.utils import make_divisible
from lwmm.registry import MODELS

WIDTHS = [(GhostNet, 0.5), (GhostNet, 1.0), (GhostNet, 1.3), (GhostNetV2, 1.0), (GhostNetV2, 1.3),
          (GhostNetV2, 1.6)]

#: DESIGN.md, published: params, MACs at 224x224 of the classifiers
PUBLISHED = {
    'ghostnet_050': (2.6e6, 42e6),
    'ghostnet_100': (5.2e6, 141e6),
    'ghostnet_130': (7.3e6, 226e6),
    'ghostnetv2_100': (6.1e6, 167e6),
    'ghostnetv2_130': (8.9e6, 269e6),
    'ghostnetv2_160': (12.3e6, 399e6),
}


def _expected_channels(widen_factor):
    return tuple(make_divisible(c * widen_factor, 4) for c in (16, 24, 40, 112, 960))


def _sizes(h, w, strides=(2, 4, 8, 16, 32)):
    return [(math.ceil(h / s), math.ceil(w / s)) for s in strides]


@pytest.fixture(scope='module')
def small_v2():
    torch.manual_seed(0)
    return GhostNetV2(widen_factor=0.5, out_indices=(0, 1, 2, 3, 4))


@pytest.mark.parametrize('cls, widen_factor', WIDTHS)
def test_stage_shapes(cls, widen_factor):
    model = cls(widen_factor=widen_factor, out_indices=(0, 1, 2, 3, 4)).eval()
    assert model.stage_channels == _expected_channels(widen_factor)
    assert model.stage_strides == (2, 4, 8, 16, 32)
    sizes = [(64, 64)] + ([(65, 71)] if cls is GhostNetV2 else [])
    with torch.no_grad():
        for h, w in sizes:
            outs = model(torch.randn(1, 3, h, w))
            assert [o.shape[1] for o in outs] == list(model.stage_channels)
            assert [tuple(o.shape[2:]) for o in outs] == _sizes(h, w)


def test_published_channels_at_1x():
    assert GhostNet().stage_channels == (16, 24, 40, 112, 960)
    assert GhostNetV2(widen_factor=1.6).stage_channels[-1] == 1536


def test_default_out_indices():
    model = GhostNet(widen_factor=0.5)
    assert model.out_indices == (4, ) and model.out_channels == (480, )
    outs = model(torch.randn(1, 3, 64, 64))
    assert len(outs) == 1 and outs[0].shape == (1, 480, 2, 2)


def test_dfc_placement():
    v1, v2 = GhostNet(widen_factor=0.5), GhostNetV2(widen_factor=0.5)
    blocks = [m for m in v2.modules() if type(m).__name__ == 'GhostBottleneck']
    assert len(blocks) == 16
    assert [b.ghost1.dfc is not None for b in blocks] == [False, False] + [True] * 14
    assert all(b.ghost2.dfc is None for b in blocks)
    assert all(b.ghost1.dfc is None for b in v1.modules() if type(b).__name__ == 'GhostBottleneck')


def test_out_indices_order_and_negatives(small_v2):
    x = torch.randn(1, 3, 64, 64)
    small_v2.eval()
    with torch.no_grad():
        all_outs = small_v2(x)
        model = GhostNetV2(widen_factor=0.5, out_indices=(3, -1, 0))
        model.load_state_dict(small_v2.state_dict())
        model.eval()
        outs = model(x)
    assert model.out_indices == (3, 4, 0)
    assert model.out_channels == tuple(o.shape[1] for o in outs)
    for out, index in zip(outs, (3, 4, 0)):
        torch.testing.assert_close(out, all_outs[index])


@pytest.mark.parametrize('out_indices', [(5, ), (-6, ), (0, 7), (), 'a'])
def test_out_indices_out_of_range(out_indices):
    with pytest.raises(ValueError, match='out_indices'):
        GhostNet(widen_factor=0.5, out_indices=out_indices)


@pytest.mark.parametrize('widen_factor', [0, -1.0, 'a', None, True, float('nan'), float('inf')])
def test_invalid_widen_factor(widen_factor):
    with pytest.raises(ValueError, match='widen_factor'):
        GhostNet(widen_factor=widen_factor)


def test_any_positive_widen_factor():
    model = GhostNetV2(widen_factor=0.3).eval()
    assert model.stage_channels == _expected_channels(0.3)
    assert model(torch.randn(1, 3, 64, 64))[0].shape[1] == model.stage_channels[-1]


@pytest.mark.parametrize('kwargs, name', [(dict(frozen_stages=6), 'frozen_stages'),
                                          (dict(frozen_stages=-2), 'frozen_stages'),
                                          (dict(out_stride=4), 'out_stride')])
def test_invalid_contract_args(kwargs, name):
    with pytest.raises(ValueError, match=name):
        GhostNet(widen_factor=0.5, **kwargs)


def test_frozen_stages():
    model = GhostNetV2(widen_factor=0.5, frozen_stages=2)
    model.train()
    frozen = list(model.stages[0].modules()) + list(model.stages[1].modules())
    for module in frozen:
        for param in module.parameters(recurse=False):
            assert not param.requires_grad
        if isinstance(module, _BatchNorm):
            assert not module.training
    assert all(p.requires_grad for p in model.stages[2].parameters())
    assert all(m.training for m in model.stages[2].modules() if isinstance(m, _BatchNorm))
    before = {k: v.clone() for k, v in model.state_dict().items() if k.endswith('num_batches_tracked')}
    model(torch.randn(2, 3, 64, 64))[0].sum().backward()
    after = model.state_dict()
    for key, value in before.items():
        updated = not torch.equal(value, after[key])
        assert updated != key.startswith(('stages.0.', 'stages.1.')), key
    assert all(p.grad is None for p in model.stages[0].parameters())
    assert any(p.grad is not None for p in model.stages[2].parameters())


def test_norm_eval():
    model = GhostNet(widen_factor=0.5, norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    assert model.training
    model.train(False)
    model.train(True)
    assert all(not m.training for m in bns)


def test_with_cp_same_output_and_grads(small_v2, monkeypatch):
    import lwmm.models.backbones.base as base
    calls, checkpoint = [], base.cp.checkpoint

    def counting_checkpoint(*args, **kwargs):
        calls.append(1)
        return checkpoint(*args, **kwargs)

    torch.manual_seed(0)
    model = copy.deepcopy(small_v2).train()
    model_cp = GhostNetV2(widen_factor=0.5, out_indices=(0, 1, 2, 3, 4), with_cp=True).train()
    model_cp.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    x_cp = x.detach().clone().requires_grad_()
    outs = model(x)
    monkeypatch.setattr(base.cp, 'checkpoint', counting_checkpoint)
    outs_cp = model_cp(x_cp)
    assert len(calls) == 18  # stem, 16 bottlenecks, final conv
    for out, out_cp in zip(outs, outs_cp):
        torch.testing.assert_close(out_cp, out)
    sum(o.square().mean() for o in outs).backward()
    sum(o.square().mean() for o in outs_cp).backward()
    torch.testing.assert_close(x_cp.grad, x.grad)
    for (name, p), p_cp in zip(model.named_parameters(), model_cp.parameters()):
        torch.testing.assert_close(p_cp.grad, p.grad, msg=name)


@pytest.mark.parametrize('cls', [GhostNet, GhostNetV2])
@pytest.mark.parametrize('out_stride', [16, 8])
@pytest.mark.parametrize('h, w', [(64, 64), (65, 71)])
def test_out_stride(cls, out_stride, h, w):
    model = cls(widen_factor=0.5, out_indices=(0, 1, 2, 3, 4), out_stride=out_stride).eval()
    strides = tuple(min(s, out_stride) for s in (2, 4, 8, 16, 32))
    with torch.no_grad():
        outs = model(torch.randn(1, 3, h, w))
    assert [tuple(o.shape[2:]) for o in outs] == _sizes(h, w, strides)
    assert [o.shape[1] for o in outs] == list(model.stage_channels)
    strided = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.stride != (1, 1)]
    assert len(strided) == {16: 7, 8: 5}[out_stride]  # stem + 2 per stride-2 bottleneck kept
    dilations = {m.dilation for m in model.stages[4].modules() if isinstance(m, nn.Conv2d)
                 and max(m.kernel_size) > 1}
    assert max(d[0] for d in dilations) == {16: 2, 8: 4}[out_stride]


def test_dilated_odd_size_in_train_mode():
    """Dilated DFC branches still gate maps of the exact size (odd input, training mode)."""
    model = GhostNetV2(widen_factor=0.5, out_stride=8).train()
    out = model(torch.randn(2, 3, 33, 47))[0]
    assert out.shape == (2, 480, 5, 6) and torch.isfinite(out).all()


def test_registry_and_init():
    model = MODELS.build(dict(type='lwmm.GhostNetV2', widen_factor=1.0, out_indices=(2, 4)))
    assert isinstance(model, GhostNetV2) and model.out_channels == (40, 960)
    model.init_weights()
    model = MODELS.build(dict(type='GhostNet', widen_factor=0.5))
    assert isinstance(model, GhostNet) and not isinstance(model, GhostNetV2)


@pytest.mark.parametrize('timm_name', sorted(PUBLISHED))
def test_classifier_complexity_vs_published(timm_name):
    from lwmm.analysis.config_models import build_model_from_config
    from lwmm.converters import timm_config
    from lwmm.deploy.tasks import TensorMode
    model = build_model_from_config(timm_config(timm_name))  # the shipped config of this width
    # the count goes through the classifier's feature path and head, as the paper counts it
    counted = count_complexity(TensorMode(model), (1, 3, 224, 224))
    params, macs = PUBLISHED[timm_name]
    assert abs(counted['params'] / params - 1) <= 0.02, counted['params']
    assert abs(counted['macs'] / macs - 1) <= 0.02, counted['macs']
