import pytest
import torch
import torch.nn as nn
from mmpretrain.models.backbones import MobileNetV2

from lwmm.analysis import count_complexity
from lwmm.models.backbones.oct_mobilenet import OctMobileNetV2
from lwmm.models.layers.octave_conv import OctaveConv2d

# Chen et al., ICCV 2019, Table 5; facebookresearch/OctConv README: 1.0 MobileNet (v2), alpha .375:
# 3.5M params, 256M FLOPs (multiply-adds), with the 1280 -> 1000 classifier.
PAPER_PARAMS, PAPER_MACS = 3.5e6, 256e6
CLASSIFIER_PARAMS, CLASSIFIER_MACS = 1280 * 1000 + 1000, 1280 * 1000


def randomise_bn(model):
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)


def num_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope='module')
def model():
    return OctMobileNetV2(out_indices=(0, 1, 2, 3, 4)).eval()


def test_stage_outputs(model):
    outs = model(torch.randn(1, 3, 64, 96))
    assert model.out_channels == (16, 24, 32, 96, 1280)
    assert [o.shape for o in outs] == [(1, c, 64 // s, 96 // s) for c, s in
                                       zip(model.stage_channels, model.stage_strides)]


def test_odd_input_size(model):
    outs = model(torch.randn(1, 3, 75, 61))
    assert [tuple(o.shape[-2:]) for o in outs] == [(38, 31), (19, 16), (10, 8), (5, 4), (3, 2)]


def test_octave_layout(model):
    blocks = [m for m in model.modules() if type(m).__name__ == 'OctInvertedResidual']
    assert len(blocks) == 17
    for index, block in enumerate(blocks):
        expected = 0.375 if index < 13 else 0.0  # 16/24/32/64/96 layers octave; 160/320 vanilla
        assert block.depthwise.conv.alpha_in == expected
        assert block.project.conv.alpha_out == 0  # block outputs are single tensors
    assert blocks[0].expand is not None  # the official code's first-block split


def test_params_and_macs_match_paper(model):
    params = num_params(model) + CLASSIFIER_PARAMS
    vanilla = num_params(MobileNetV2(widen_factor=1.0)) + CLASSIFIER_PARAMS
    assert params == vanilla + 32 * 32 + 2 * 32  # + the first block's 1x1 expansion and its norms
    assert params == pytest.approx(PAPER_PARAMS, rel=0.01)
    macs = count_complexity(model, (1, 3, 224, 224))['macs'] + CLASSIFIER_MACS
    assert macs == pytest.approx(PAPER_MACS, rel=0.03)


@pytest.mark.parametrize('widen_factor', [0.5, 1.0, 1.4])
def test_params_equal_mobilenetv2_without_first_expansion(widen_factor):
    ours = OctMobileNetV2(widen_factor=widen_factor, alpha=0.375, expand_first_block=False)
    assert num_params(ours) == num_params(MobileNetV2(widen_factor=widen_factor))


def test_alpha_zero_is_mmpretrain_mobilenetv2():
    ref = MobileNetV2(widen_factor=1.0, out_indices=(0, 1, 2, 4, 7))
    ref.eval()  # mmpretrain's MobileNetV2.train() returns None
    ours = OctMobileNetV2(alpha=0, out_indices=(0, 1, 2, 3, 4)).eval()
    randomise_bn(ref)
    src, dst = list(ref.state_dict().items()), list(ours.state_dict().items())
    assert len(src) == len(dst)
    state = {}
    for (src_key, value), (dst_key, target) in zip(src, dst):
        assert value.shape == target.shape, (src_key, dst_key)
        state[dst_key] = value
    ours.load_state_dict(state, strict=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        for a, b in zip(ref(x), ours(x)):
            assert a.shape == b.shape
            assert (a - b).abs().max() <= 1e-4


@pytest.mark.parametrize('out_stride', [8, 16])
def test_out_stride(out_stride):
    model = OctMobileNetV2(widen_factor=0.5, out_indices=(0, 1, 2, 3, 4), out_stride=out_stride).eval()
    outs = model(torch.randn(1, 3, 64, 64))
    strides = [min(s, out_stride) for s in model.stage_strides]
    assert [tuple(o.shape[-2:]) for o in outs] == [(64 // s, 64 // s) for s in strides]
    assert any(m.dilation > 1 for m in model.stages[4].modules() if isinstance(m, OctaveConv2d))


def test_frozen_stages_with_cp_and_training():
    model = OctMobileNetV2(widen_factor=0.5, frozen_stages=2, with_cp=True, out_indices=(2, 4))
    model.train()
    assert all(not p.requires_grad for p in model.stages[1].parameters())
    outs = model(torch.randn(2, 3, 64, 64))
    sum(o.sum() for o in outs).backward()
    assert model.stages[3][0].depthwise.conv.l2l.weight.grad is not None


def test_feeds_ssdlite_head_channels(model):
    ssd = OctMobileNetV2(out_indices=(3, 4))
    assert ssd.out_channels == (96, 1280)


@pytest.mark.parametrize('kwargs, match', [
    (dict(alpha=-0.5), 'alpha'),
    (dict(widen_factor=0), 'widen_factor'),
    (dict(out_indices=(5, )), 'out_indices'),
    (dict(out_stride=64), 'out_stride'),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OctMobileNetV2(**kwargs)
