import pytest
import torch
import torch.nn as nn
from mmpretrain.models.backbones import ResNet

from lwmm.analysis import count_complexity
from lwmm.analysis.config_models import build_model_from_config, load_config
from lwmm.analysis.references import reference_config
from lwmm.models.backbones.oct_resnet import OctResNet
from lwmm.models.layers.octave_conv import OctaveConv2d

# Chen et al., ICCV 2019, Table 2 / Fig. 4 (Oct-ResNet-50, 224x224, whole network); d-li14/octconv.pytorch
# README: ResNet-50 4.089 GFLOPs, Oct-ResNet-50 (alpha 0.5) 2.367 GFLOPs.
PAPER_GMACS = {0.0: 4.089, 0.125: 3.6, 0.25: 3.1, 0.5: 2.367, 0.75: 1.9}
FC_MACS = 2048 * 1000
#: the classifier every configs/cls/oct-resnet50-*.py inherits (they set its alpha)
OCT_RESNET50 = '_base_/models/oct_resnet50_cls.py'
ALL_STAGES = (0, 1, 2, 3)


def oct_resnet50_classifier(alpha, **backbone):
    cfg = load_config(OCT_RESNET50)
    cfg.model.backbone.update(alpha=alpha, **backbone)
    return build_model_from_config(cfg)


def randomise_bn(model):
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)


def copy_by_order(src: nn.Module, dst: nn.Module):
    """Copy a state dict entry by entry in registration order, checking shapes and tensor kinds."""
    src_items, dst_items = list(src.state_dict().items()), list(dst.state_dict().items())
    assert len(src_items) == len(dst_items)
    state = {}
    for (src_key, value), (dst_key, target) in zip(src_items, dst_items):
        assert value.shape == target.shape, (src_key, dst_key)
        assert src_key.rsplit('.', 1)[-1] == dst_key.rsplit('.', 1)[-1], (src_key, dst_key)
        state[dst_key] = value
    dst.load_state_dict(state, strict=True)


@pytest.fixture(scope='module')
def model():
    return OctResNet(depth=50, alpha=0.5, out_indices=(0, 1, 2, 3)).eval()


def test_stage_outputs(model):
    outs = model(torch.randn(1, 3, 64, 96))
    assert [o.shape for o in outs] == [(1, c, 64 // s, 96 // s) for c, s in
                                       zip(model.stage_channels, model.stage_strides)]
    assert model.out_channels == (256, 512, 1024, 2048)


def test_odd_input_size(model):
    outs = model(torch.randn(1, 3, 71, 53))
    assert [tuple(o.shape[-2:]) for o in outs] == [(18, 14), (9, 7), (5, 4), (3, 2)]


def test_stage_output_merges_high_and_low(model):
    stage_in = model.stages[0](torch.randn(1, 3, 64, 64))
    high, low = stage_in
    assert high.shape == (1, 128, 16, 16) and low.shape == (1, 128, 8, 8)
    merged = model.stage_output(stage_in)
    torch.testing.assert_close(merged[:, :128], high)
    torch.testing.assert_close(merged[:, 128:, ::2, ::2], low)


def test_last_stage_is_vanilla_after_transition(model):
    first = model.stages[3][0]
    assert first.conv1.conv.alpha_in == 0.5 and first.conv1.conv.alpha_out == 0
    assert first.downsample.conv.alpha_in == 0.5 and first.downsample.conv.alpha_out == 0
    assert first.conv2.conv.is_vanilla and first.conv2.conv.h2h.stride == (2, 2)
    entry = model.stages[0][2]
    assert entry.conv1.conv.alpha_in == 0 and entry.conv1.conv.alpha_out == 0.5


@pytest.fixture(scope='module')
def resnet50_params():
    """Params of mmpretrain's ResNet-50 classifier (its config, as lwmm.analysis.references builds it)."""
    return sum(p.numel() for p in build_model_from_config(reference_config('mmpretrain:resnet50')).parameters())


@pytest.mark.parametrize('alpha', [0.0, 0.125, 0.25, 0.5, 0.75])
def test_params_equal_resnet50(alpha, resnet50_params):
    ours = sum(p.numel() for p in oct_resnet50_classifier(alpha).parameters())
    assert ours == resnet50_params == 25_557_032  # 25.557M with the classifier, as published


def test_params_equal_resnet101():
    ours = sum(p.numel() for p in OctResNet(101, alpha=0.5).parameters())
    assert ours == sum(p.numel() for p in ResNet(101).parameters())


@pytest.mark.parametrize('alpha', [0.0, 0.125, 0.25, 0.5, 0.75])
def test_macs_match_paper(alpha):
    # Every map at 32x32 is exactly 1/7 (per side) of its size at 224x224 (high and low parts alike:
    # 16, 8, 4, 2, 1 vs 112, 56, 28, 14, 7), so MACs scale by exactly 49; counting at 32 is 2-3x faster.
    macs = count_complexity(OctResNet(50, alpha=alpha), (1, 3, 32, 32))['macs'] * 49 + FC_MACS
    assert macs / 1e9 == pytest.approx(PAPER_GMACS[alpha], rel=0.03)
    if alpha in (0.0, 0.5):  # the reference implementation's exact counts
        assert macs / 1e9 == pytest.approx(PAPER_GMACS[alpha], abs=0.0015)


def test_alpha_zero_is_mmpretrain_resnet50():
    ref_cfg = reference_config('mmpretrain:resnet50')
    ref_cfg.model.backbone.out_indices = ALL_STAGES
    ref = build_model_from_config(ref_cfg).eval()
    ours = oct_resnet50_classifier(0, out_indices=ALL_STAGES).eval()
    randomise_bn(ref)
    copy_by_order(ref, ours)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        for a, b in zip(ref.extract_feat(x, stage='backbone'), ours.extract_feat(x, stage='backbone')):
            assert a.shape == b.shape
            assert (a - b).abs().max() <= 1e-4
        assert (ref(x, mode='tensor') - ours(x, mode='tensor')).abs().max() <= 1e-4


@pytest.mark.parametrize('out_stride', [8, 16])
def test_out_stride(out_stride):
    model = OctResNet(26, alpha=0.25, out_indices=(0, 1, 2, 3), out_stride=out_stride).eval()
    outs = model(torch.randn(1, 3, 64, 64))
    strides = [min(s, out_stride) for s in model.stage_strides]
    assert [tuple(o.shape[-2:]) for o in outs] == [(64 // s, 64 // s) for s in strides]
    dilations = [m.dilation for m in model.stages[3].modules() if isinstance(m, OctaveConv2d)
                 and m.kernel_size == 3]
    assert dilations == [32 // out_stride // 2 or 1] + [32 // out_stride] * (len(dilations) - 1)


def test_frozen_stages_and_norm_eval():
    model = OctResNet(26, alpha=0.5, frozen_stages=2, norm_eval=True)
    model.train()
    assert all(not p.requires_grad for p in model.stages[1].parameters())
    assert all(p.requires_grad for p in model.stages[2].parameters())
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_with_cp_same_gradients():
    torch.manual_seed(0)
    model = OctResNet(26, alpha=0.5, out_indices=(0, 1, 2, 3))
    x = torch.randn(2, 3, 32, 32)
    grads = []
    for with_cp in (False, True):
        model.with_cp = with_cp
        model.zero_grad()
        model.train()
        sum(o.sum() for o in model(x)).backward()
        grads.append(model.stages[1][0].conv2.conv.l2h.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


def test_init_weights_zero_inits_residual_norms():
    model = OctResNet(26, alpha=0.5)
    model.init_weights()
    block = model.stages[1][1]
    assert block.conv3.norm_h.weight.abs().sum() == 0 and block.conv3.norm_l.weight.abs().sum() == 0


def test_feeds_fpn(model):
    from mmdet.models.necks import FPN
    fpn = FPN(in_channels=list(model.out_channels), out_channels=32, num_outs=5)
    outs = fpn(model(torch.randn(1, 3, 64, 64)))
    assert len(outs) == 5 and outs[0].shape == (1, 32, 16, 16)


@pytest.mark.parametrize('kwargs, match', [
    (dict(depth=34), 'depth'),
    (dict(alpha=1.0), 'alpha'),
    (dict(out_indices=(4, )), 'out_indices'),
    (dict(frozen_stages=5), 'frozen_stages'),
    (dict(out_stride=4), 'out_stride'),
])
def test_invalid_arguments(kwargs, match):
    args = dict(depth=26)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        OctResNet(**args)
