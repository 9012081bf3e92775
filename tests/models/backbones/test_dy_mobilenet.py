import math

import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from lwmm.analysis.complexity import count_complexity
from lwmm.analysis.config_models import build_model_from_config, load_config
from lwmm.engine.temperature import set_temperature
from lwmm.models.backbones.dy_mobilenet import DYMobileNetV2, DYMobileNetV3, DynamicConvBackbone
from lwmm.models.layers.dynamic_conv import DynamicConv2d
from lwmm.registry import MODELS

#: DESIGN.md (the DY-CNN paper, Table 2): params, MACs of the DY-MobileNetV2 classifiers at 224x224, and
#: the tolerance each is met with. x0.35 falls below the paper (2.69M / 60.5M): the rule that gives the
#: paper's x1.0 / x0.75 / x0.5 counts within 2 % cannot give its x0.35 row; only rules fitted to it do
#: (tools/analysis/dynamic_conv_counts.py, docs/dynamic_conv.md).
PAPER_V2 = {
    1.0: (11.1e6, 312.9e6, 0.02, 0.02),
    0.75: (7.0e6, 217.5e6, 0.02, 0.02),
    0.5: (4.0e6, 101.4e6, 0.02, 0.02),
    0.35: (2.8e6, 62.0e6, 0.05, 0.03),
}


#: a backbone option that converts no conv: the static network a DY network is made from
STATIC = dict(rule=dict(include=[]))
V3_SMALL = 'cls/dy-mobilenetv3-small_in1k.py'


def _classifier(config, head=None, **backbone):
    """The shipped config's classifier, with ``backbone`` and ``head`` options changed."""
    cfg = load_config(config)
    cfg.model.backbone.update(backbone)
    cfg.model.head.update(head or {})
    return build_model_from_config(cfg)


def _sizes(h, w, strides=(2, 4, 8, 16, 32)):
    return [(math.ceil(h / s), math.ceil(w / s)) for s in strides]


def _dynamic_names(model):
    return [name for name, m in model.named_modules() if isinstance(m, DynamicConv2d)]


@pytest.fixture(scope='module')
def models():
    torch.manual_seed(0)
    return {
        'v2': DYMobileNetV2(widen_factor=0.35, out_indices=(0, 1, 2, 3, 4)),
        'v3': DYMobileNetV3(arch='small', out_indices=(0, 1, 2, 3, 4)),
    }


@pytest.mark.parametrize('widen_factor', sorted(PAPER_V2))
def test_v2_counts_match_paper(widen_factor):
    params, macs, params_tol, macs_tol = PAPER_V2[widen_factor]
    model = build_model_from_config(f'cls/dy-mobilenetv2-{widen_factor}x_in1k.py')
    assert model.backbone.widen_factor == widen_factor
    count = count_complexity(model, (1, 3, 224, 224))
    assert abs(count['params'] / params - 1) <= params_tol, count['params']
    assert abs(count['macs'] / macs - 1) <= macs_tol, count['macs']


def test_v3_small_counts_match_paper():
    """The paper's MobileNetV3-Small (2.9M / 66.0M) has params of the 1280-wide head (2.95M; the published
    1024-wide head gives 2.54M); with it the DY params match (4.78M vs 4.8M). Its 66.0M MACs are not those
    of either head (56.9M / 56.5M): what dynamic convolution adds is compared within 10 % (2.29M against the
    paper's 68.5M - 66.0M = 2.5M), and the total with its known gap, 59.2M against 68.5M (-13.6 %), which is
    the baseline's (docs/dynamic_conv.md: no construction we tried reaches the paper's 66.0M)."""
    static = count_complexity(_classifier(V3_SMALL, **STATIC))
    dynamic = count_complexity(build_model_from_config(V3_SMALL))
    published = count_complexity(_classifier(V3_SMALL, head=dict(mid_channels=[1024]), **STATIC))
    assert abs(published['params'] / 2.54e6 - 1) < 0.01 and abs(published['macs'] / 56.5e6 - 1) < 0.01
    assert abs(static['params'] / 2.9e6 - 1) <= 0.02
    assert abs(dynamic['params'] / 4.8e6 - 1) <= 0.02
    assert abs((dynamic['macs'] - static['macs']) / 2.5e6 - 1) <= 0.10
    # the known gap, bounded on both sides: a change to the count that closes or widens it must update the docs
    assert -0.15 < dynamic['macs'] / 68.5e6 - 1 < -0.12, dynamic['macs']
    assert -0.15 < static['macs'] / 66.0e6 - 1 < -0.12, static['macs']  # the same gap in the static baseline


def test_v2_matches_mmpretrain_mobilenetv2_converted():
    """The same network made dynamic through the wrapper (every conv but the stem) has the same size."""
    ours = DYMobileNetV2(widen_factor=0.5, dynamic_final_conv=True)
    wrapped = DynamicConvBackbone(backbone=dict(type='mmpretrain.MobileNetV2', widen_factor=0.5))
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in wrapped.parameters())
    assert len(_dynamic_names(ours)) == len(wrapped.dynamic_conv_names) == 51
    assert ours(torch.randn(1, 3, 64, 64))[-1].shape == wrapped(torch.randn(1, 3, 64, 64))[-1].shape


def test_dynamic_placement(models):
    v2, v3 = models['v2'], models['v3']
    # v2: 17 blocks (the first without expansion) -> 16 + 17 + 17 dynamic convs; stem and final 1x1 static
    assert len(_dynamic_names(v2)) == 50
    assert type(v2.stages[0][0].conv) is nn.Conv2d and type(v2.stages[4][-1].conv) is nn.Conv2d
    assert v2.dynamic_conv_names == _dynamic_names(v2.stages)
    # v3 small: 11 blocks (the first without expansion) -> 10 + 11 + 11, plus the final 1x1; SE static
    assert len(_dynamic_names(v3)) == 33
    assert isinstance(v3.stages[4][-1].conv, DynamicConv2d)
    assert all(type(m.squeeze) is nn.Conv2d for m in v3.modules() if type(m).__name__ == 'SqueezeExcite')
    depthwise = v3.stages[1][0].depthwise.conv
    assert depthwise.weight.shape == (4, 16, 1, 3, 3)


@pytest.mark.parametrize('key, channels', [('v2', (8, 8, 16, 32, 1280)), ('v3', (16, 16, 24, 48, 576))])
def test_stage_shapes(models, key, channels):
    model = models[key].eval()
    assert model.stage_channels == channels and model.out_channels == channels
    with torch.no_grad():
        for h, w in [(64, 64), (65, 71)]:
            outs = model(torch.randn(2, 3, h, w))
            assert [o.shape[1] for o in outs] == list(channels)
            assert [tuple(o.shape[2:]) for o in outs] == _sizes(h, w)


def test_published_channels():
    assert DYMobileNetV2().stage_channels == (16, 24, 32, 96, 1280)
    assert DYMobileNetV2(widen_factor=0.75).stage_channels == (16, 24, 24, 72, 1280)
    assert DYMobileNetV3(arch='large').stage_channels == (16, 24, 40, 112, 960)


@pytest.mark.parametrize('cls', [DYMobileNetV2, DYMobileNetV3])
def test_default_and_negative_out_indices(cls):
    kwargs = dict(widen_factor=0.35) if cls is DYMobileNetV2 else {}
    model = cls(**kwargs).eval()
    assert model.out_indices == (4, )
    model = cls(out_indices=(-2, 1), **kwargs).eval()
    assert model.out_indices == (3, 1)
    outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape[2:]) for o in outs] == [(4, 4), (16, 16)]


@pytest.mark.parametrize('out_stride', [16, 8])
def test_out_stride_dilates_dynamic_convs(out_stride):
    model = DYMobileNetV2(widen_factor=0.35, out_indices=(2, 3, 4), out_stride=out_stride).eval()
    outs = model(torch.randn(1, 3, 64, 64))
    expected = [(8, 8), (8, 8) if out_stride == 8 else (4, 4)] + [(64 // out_stride, 64 // out_stride)]
    assert [tuple(o.shape[2:]) for o in outs] == expected
    dilated = [m.dilation for m in model.stages[4].modules() if isinstance(m, DynamicConv2d) and m.groups > 1]
    assert dilated[-1] == ((4, 4) if out_stride == 8 else (2, 2))
    assert all(m.stride == (1, 1) for m in model.stages[4].modules() if isinstance(m, DynamicConv2d))


@pytest.mark.parametrize('key', ['v2', 'v3'])
def test_frozen_stages_and_norm_eval(key):
    cls = DYMobileNetV2 if key == 'v2' else DYMobileNetV3
    kwargs = dict(widen_factor=0.35) if key == 'v2' else {}
    model = cls(frozen_stages=2, norm_eval=True, **kwargs)
    model.train()
    for index, stage in enumerate(model.stages):
        frozen = index <= 1
        assert all(p.requires_grad != frozen for p in stage.parameters())
        dynamic = [m for m in stage.modules() if isinstance(m, DynamicConv2d)]
        assert all(m.weight.requires_grad != frozen for m in dynamic)
        assert dynamic or index == 0
        if frozen:
            assert not stage.training
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))


def test_with_cp_matches_and_trains(models, spread_dynamic_kernels):
    torch.manual_seed(0)
    # K distinct kernels: as built they are copies, and the attention would not matter
    plain = spread_dynamic_kernels(DYMobileNetV2(widen_factor=0.35))
    checkpointed = DYMobileNetV2(widen_factor=0.35, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    plain.train(), checkpointed.train()
    out_plain, out_cp = plain(x)[-1], checkpointed(x)[-1]
    torch.testing.assert_close(out_plain, out_cp)
    out_cp.sum().backward()
    assert checkpointed.stages[2][0].depthwise.conv.weight.grad is not None


def test_temperature_reaches_every_layer(models):
    model = models['v3']
    assert set_temperature(model, 30.0) == 33
    assert {m.temperature for m in model.modules() if isinstance(m, DynamicConv2d)} == {30.0}
    set_temperature(model, 1.0)


def test_registry_and_custom_rule():
    model = MODELS.build(dict(type='lwmm.DYMobileNetV2', widen_factor=0.35, K=2, rule=dict(pointwise=False)))
    assert len(_dynamic_names(model)) == 17
    assert {m.num_kernels for m in model.modules() if isinstance(m, DynamicConv2d)} == {2}
    model = MODELS.build(dict(type='lwmm.DYMobileNetV3', arch='large', reduction=8))
    assert model.stages[1][0].expand.conv.attention.fc1.out_features == 16 // 8


@pytest.mark.parametrize('cls, kwargs, name', [
    (DYMobileNetV2, dict(widen_factor=0), 'widen_factor'),
    (DYMobileNetV2, dict(widen_factor='1.0'), 'widen_factor'),
    (DYMobileNetV2, dict(K=0), 'K'),
    (DYMobileNetV2, dict(reduction=0), 'reduction'),
    (DYMobileNetV2, dict(out_indices=(5, )), 'out_indices'),
    (DYMobileNetV2, dict(frozen_stages=6), 'frozen_stages'),
    (DYMobileNetV2, dict(out_stride=4), 'out_stride'),
    (DYMobileNetV3, dict(arch='tiny'), 'arch'),
    (DYMobileNetV3, dict(K=1.5), 'K'),
    (DYMobileNetV3, dict(out_indices=(-6, )), 'out_indices'),
    (DynamicConvBackbone, dict(backbone='MobileNetV2'), 'backbone'),
])
def test_invalid_arguments(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


def test_wrapper_keeps_the_wrapped_contract():
    wrapped = MODELS.build(dict(
        type='lwmm.DynamicConvBackbone', K=3, rule=dict(skip_first=1, depthwise=False),
        backbone=dict(type='mmpretrain.MobileNetV2', widen_factor=0.35, out_indices=(4, 7), frozen_stages=1)))
    wrapped.train()
    outs = wrapped(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 4, 4), (2, 1280, 2, 2)]
    inner = wrapped.backbone
    assert all(not p.requires_grad for p in inner.layer1.parameters())
    assert all(m.groups == 1 for m in wrapped.modules() if isinstance(m, DynamicConv2d))
    assert type(inner.conv1.conv) is nn.Conv2d
    wrapped.init_weights()
    assert {m.num_kernels for m in wrapped.modules() if isinstance(m, DynamicConv2d)} == {3}


@pytest.mark.parametrize('cls, kwargs', [(DYMobileNetV2, dict(widen_factor=0.35)), (DYMobileNetV3, dict(arch='small'))])
def test_compiles_to_one_graph(spread_dynamic_kernels, cls, kwargs):
    """torch.compile captures a whole DY backbone in one graph (no graph break in any dynamic conv)."""
    import torch._dynamo
    torch.manual_seed(0)
    # K distinct kernels: as built they are copies, and the attention would not matter
    model = spread_dynamic_kernels(cls(out_indices=(2, 4), **kwargs)).eval()
    x = torch.randn(1, 3, 64, 64)
    torch._dynamo.reset()
    compiled = torch.compile(model, backend='eager', fullgraph=True)
    with torch.inference_mode():
        for got, expected in zip(compiled(x), model(x)):
            # relative to the output: a fresh network's deep features are tiny (about 1e-13 at stage 4)
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5 * expected.abs().max().item())
    torch._dynamo.reset()
