"""Property tests (hypothesis) over layer arguments and input sizes: odd, tiny (0..9 px), non-square,
batch 1. Every call either returns the documented shape or raises a ValueError naming the argument (or
the input); nothing else escapes (no RuntimeError / TypeError from torch).

Arguments are drawn from ranges that include invalid values on purpose (0 channels, even kernels,
stride 3, alpha 1, ...). Modules run in eval mode: BatchNorm in training mode cannot normalise one value
per channel (batch 1 at 1x1), which torch reports itself.
"""
import math

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lwmm.models.backbones import dy_mobilenet, dy_resnet, ghostnet, mobilevit, oct_mobilenet, oct_resnet
from lwmm.models.layers.dfc_attention import DFCAttention
from lwmm.models.layers.dynamic_conv import DynamicConv2d
from lwmm.models.layers.ghost import GhostBottleneck, GhostModule
from lwmm.models.layers.inverted_residual import InvertedResidual
from lwmm.models.layers.mobilevit_block import MobileViTBlock
from lwmm.models.layers.octave_conv import OctaveConv2d, OctaveConvModule
from lwmm.models.layers.se import SqueezeExcite

# derandomize: the same examples on every run (CI must not flake); no example database in the tree
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
SIZES = st.integers(0, 9)
BATCH = st.integers(1, 2)


def mostly(valid, invalid):
    """Draw a valid value about four times in five: with several arguments per call, most calls should
    still reach the forward pass."""
    return st.sampled_from(list(valid) * 4 + list(invalid))


def build(factory, invalid):
    """Build, or check that the constructor rejects one of the ``invalid`` argument names."""
    if invalid:
        event('arguments rejected')
        with pytest.raises(ValueError) as error:
            factory()
        assert any(f'{name}=' in str(error.value) for name in invalid), (invalid, str(error.value))
        return None
    torch.manual_seed(0)  # the same weights whatever ran before: a failure replays
    return factory().eval()


def run(module, *inputs, input_ok: bool = True):
    """Forward in eval mode, or check the input is rejected with a ValueError that says so."""
    with torch.no_grad():
        if not input_ok:
            event('input rejected')
            with pytest.raises(ValueError, match='input'):
                module(*inputs)
            return None
        event('shape checked')
        out = module(*inputs)
        assert out is not None  # None from here means "input rejected", never "no output"
        return out


def odd(k):
    return k >= 1 and k % 2 == 1


def down(size, stride):
    return math.ceil(size / stride)


@PROPERTY
@given(n=BATCH, h=SIZES, w=SIZES, cin=st.integers(1, 6), cout=mostly(range(1, 10), [0]), kernel=mostly([1, 3], [0, 2]),
       ratio=mostly([2, 3, 4], [1]), cheap=mostly([1, 3], [0, 4]), use_dfc=st.booleans())
def test_ghost_module(n, h, w, cin, cout, kernel, ratio, cheap, use_dfc):
    invalid = [name for name, ok in (('out_channels', cout >= 1), ('kernel_size', odd(kernel)),
                                     ('ratio', ratio >= 2), ('cheap_kernel_size', odd(cheap))) if not ok]
    module = build(lambda: GhostModule(cin, cout, kernel, ratio, cheap, use_dfc), invalid)
    if module is not None:
        out = run(module, torch.randn(n, cin, h, w), input_ok=h >= 1 and w >= 1)
        assert out is None or out.shape == (n, cout, h, w)


@PROPERTY
@given(n=BATCH, h=SIZES, w=SIZES, cin=st.integers(1, 6), mid=mostly(range(1, 9), [0]), cout=st.integers(1, 6),
       kernel=mostly([1, 3, 5], [0, 4]), stride=mostly([1, 2], [0, 3]),
       se_ratio=mostly([0, 0.25, 1.0], [-0.25, 1.5]),
       use_dfc=st.booleans())
def test_ghost_bottleneck(n, h, w, cin, mid, cout, kernel, stride, se_ratio, use_dfc):
    invalid = [name for name, ok in (('mid_channels', mid >= 1), ('kernel_size', odd(kernel)),
                                     ('stride', stride in (1, 2)), ('se_ratio', 0 <= se_ratio <= 1)) if not ok]
    module = build(lambda: GhostBottleneck(cin, mid, cout, kernel, stride, se_ratio, use_dfc), invalid)
    if module is not None:
        out = run(module, torch.randn(n, cin, h, w), input_ok=h >= 1 and w >= 1)
        assert out is None or out.shape == (n, cout, down(h, stride), down(w, stride))


@PROPERTY
@given(n=BATCH, h=SIZES, w=SIZES, cin=st.integers(1, 6), cout=mostly(range(1, 7), [0]),
       kernel=mostly([1, 3, 5], [0, 2, 6]),
       out_h=st.integers(1, 9), out_w=st.integers(1, 9))
def test_dfc_attention(n, h, w, cin, cout, kernel, out_h, out_w):
    invalid = [name for name, ok in (('out_channels', cout >= 1), ('kernel_size', odd(kernel))) if not ok]
    module = build(lambda: DFCAttention(cin, cout, kernel), invalid)
    if module is not None:
        gate = run(module, torch.randn(n, cin, h, w), (out_h, out_w), input_ok=h >= 1 and w >= 1)
        if gate is not None:
            assert gate.shape == (n, cout, out_h, out_w)
            assert ((gate >= 0) & (gate <= 1)).all()  # a sigmoid (saturates to 0 / 1 in float32)


@PROPERTY
@given(n=BATCH, h=SIZES, w=SIZES, cin=st.integers(1, 6), cout=st.integers(1, 6), stride=mostly([1, 2], [0, 3]),
       expand=mostly([0.5, 1, 2, 6], [0, -1]), kernel=mostly([1, 3, 5], [0, 2]), dilation=mostly([1, 2, 3], [0]),
       se=mostly([None, 2], [0]))
def test_inverted_residual(n, h, w, cin, cout, stride, expand, kernel, dilation, se):
    invalid = [name for name, ok in (('stride', stride in (1, 2)), ('expand_ratio', expand > 0
                                                                   and round(cin * expand) >= 1),
                                     ('kernel_size', odd(kernel)), ('dilation', dilation >= 1),
                                     ('se_channels', se != 0)) if not ok]
    module = build(lambda: InvertedResidual(cin, cout, stride, expand, kernel, dilation, se_channels=se), invalid)
    if module is not None:
        out = run(module, torch.randn(n, cin, h, w), input_ok=h >= 1 and w >= 1)
        assert out is None or out.shape == (n, cout, down(h, stride), down(w, stride))


@PROPERTY
@given(n=BATCH, h=SIZES, w=SIZES, cin=st.integers(1, 6), dim=st.sampled_from([4, 6, 8]),
       heads=mostly([1, 2], [0, 3]), layers=mostly([1, 2], [0]), patch=mostly([1, 2, 3, 4], [0]),
       kernel=mostly([1, 3], [2]))
def test_mobilevit_block(n, h, w, cin, dim, heads, layers, patch, kernel):
    invalid = [name for name, ok in (('num_heads', heads >= 1 and dim % heads == 0), ('num_layers', layers >= 1),
                                     ('patch_size', patch >= 1), ('kernel_size', odd(kernel))) if not ok]
    module = build(lambda: MobileViTBlock(cin, dim, 2 * dim, layers, heads, patch, kernel), invalid)
    if module is not None:
        out = run(module, torch.randn(n, cin, h, w), input_ok=h >= 1 and w >= 1)
        assert out is None or out.shape == (n, cin, h, w)


def octave_input(layer, n, h, w):
    high = torch.randn(n, layer.in_h, h, w)
    if layer.in_l == 0:
        return high
    return high, torch.randn(n, layer.in_l, (h + 1) // 2, (w + 1) // 2)


def check_octave_output(layer, out, n, h, w):
    if layer.is_vanilla:  # nn.Conv2d's size
        span = layer.dilation * (layer.kernel_size - 1) + 1
        out_h, out_w = [(size + 2 * layer.padding - span) // layer.stride + 1 for size in (h, w)]
    else:
        out_h, out_w = down(h, layer.stride), down(w, layer.stride)
    if layer.out_l == 0:
        assert isinstance(out, torch.Tensor) and out.shape == (n, layer.out_h, out_h, out_w)
    else:
        high, low = out
        assert high.shape == (n, layer.out_h, out_h, out_w)
        assert low.shape == (n, layer.out_l, down(out_h, 2), down(out_w, 2))


def octave_rules_broken(cin, cout, kernel, alpha_in, alpha_out, stride, groups):
    """Names of the arguments that break the octave rules, with "same" padding: alphas in [0, 1) leaving at
    least one low channel (floor(alpha * channels)) when positive; stride 1 or 2; groups dividing both widths;
    a depthwise octave layer keeps its width and alpha; grouped ones divide every channel part; octave (not
    vanilla) layers need an odd kernel."""
    broken = {name for name, alpha in (('alpha_in', alpha_in), ('alpha_out', alpha_out)) if not 0 <= alpha < 1}
    if stride not in (1, 2):
        broken.add('stride')
    if cin % groups or cout % groups:
        broken.add('groups')
    if broken:
        return broken
    low_in, low_out = math.floor(alpha_in * cin + 1e-9), math.floor(alpha_out * cout + 1e-9)
    broken |= {name for name, alpha, low in (('alpha_in', alpha_in, low_in), ('alpha_out', alpha_out, low_out))
               if alpha > 0 and low == 0}
    if broken:
        return broken
    vanilla = low_in == 0 and low_out == 0
    depthwise = 1 < groups == cin
    if depthwise and not vanilla and (cout != cin or alpha_out != alpha_in):
        broken |= {'groups', 'out_channels', 'alpha_out'}
    parts = [c for c in (cin - low_in, low_in, cout - low_out, low_out) if c]
    if groups > 1 and not depthwise and any(c % groups for c in parts):
        broken.add('groups')
    if not vanilla and kernel % 2 == 0:
        broken.add('kernel_size')
    return broken


@settings(PROPERTY, max_examples=120)  # many argument combinations are invalid by the octave rules
@given(n=BATCH, h=SIZES, w=SIZES, cin=st.sampled_from([1, 2, 4, 8]), cout=st.sampled_from([1, 2, 4, 8]),
       kernel=mostly([1, 3], [2]),
       alpha_in=mostly([0, 0.25, 0.5], [1.0]), alpha_out=mostly([0, 0.25, 0.5], [-0.5]),
       stride=mostly([1, 2], [3]), groups=mostly([1, 1, 1, 2, 'depthwise'], [3]), as_module=st.booleans())
def test_octave_conv(n, h, w, cin, cout, kernel, alpha_in, alpha_out, stride, groups, as_module):
    """The validity rules of an octave layer (OctaveConv2d's docstring): a layer builds exactly when they hold
    and returns the documented pair of shapes; otherwise the error names an argument that breaks them."""
    groups = cin if groups == 'depthwise' else groups
    cls = OctaveConvModule if as_module else OctaveConv2d
    invalid = octave_rules_broken(cin, cout, kernel, alpha_in, alpha_out, stride, groups)
    if invalid:
        event('arguments rejected')
        with pytest.raises(ValueError) as error:
            cls(cin, cout, kernel, alpha_in, alpha_out, stride, groups=groups)
        assert any(f'{name}=' in str(error.value) for name in invalid), (invalid, str(error.value))
        return
    layer = cls(cin, cout, kernel, alpha_in, alpha_out, stride, groups=groups).eval()
    conv = layer.conv if as_module else layer
    span = conv.dilation * (conv.kernel_size - 1) + 1
    fits = min(h, w) >= 1 and (not conv.is_vanilla or min(h, w) + 2 * conv.padding >= span)
    out = run(layer, octave_input(conv, n, h, w), input_ok=fits)
    if out is not None:
        check_octave_output(conv, out, n, h, w)


@PROPERTY
@given(n=BATCH, h=SIZES, w=SIZES, cin=st.sampled_from([1, 2, 4, 6]), cout=st.sampled_from([2, 4, 6]),
       groups=mostly([1, 2], [3]),
       kernel=st.integers(1, 4), stride=st.integers(1, 3), padding=st.integers(0, 2), dilation=st.integers(1, 2),
       K=mostly([1, 2, 3], [0]))
def test_dynamic_conv(n, h, w, cin, cout, groups, kernel, stride, padding, dilation, K):
    invalid = [name for name, ok in (('K', K >= 1), ('groups', cin % groups == 0 and cout % groups == 0))
               if not ok]
    module = build(lambda: DynamicConv2d(cin, cout, kernel, stride, padding, dilation, groups, K=K), invalid)
    if module is None:
        return
    span = dilation * (kernel - 1) + 1
    fits = h >= 1 and w >= 1 and h + 2 * padding >= span and w + 2 * padding >= span
    out = run(module, torch.randn(n, cin, h, w), input_ok=fits)
    if out is not None:
        expected = [(size + 2 * padding - span) // stride + 1 for size in (h, w)]
        assert out.shape == (n, cout, *expected)
        # nn.Conv2d computes the same shape (the documented rule)
        assert out.shape == torch.nn.Conv2d(cin, cout, kernel, stride, padding, dilation, groups)(
            torch.randn(n, cin, h, w)).shape


@PROPERTY
@given(n=BATCH, h=SIZES, w=SIZES, channels=mostly(range(1, 7), [0]),
       squeeze=mostly(range(1, 5), [0]))
def test_squeeze_excite(n, h, w, channels, squeeze):
    invalid = [name for name, ok in (('channels', channels >= 1), ('squeeze_channels', squeeze >= 1)) if not ok]
    module = build(lambda: SqueezeExcite(channels, squeeze), invalid)
    if module is not None:
        out = run(module, torch.randn(n, channels, h, w), input_ok=h >= 1 and w >= 1)
        assert out is None or out.shape == (n, channels, h, w)


# -- whole backbones at their smallest width: built once per (family, out_stride), inputs vary ----------
TINY_VIT = dict(stem_channels=8, expand_ratio=2, last_channels=16,
                layers=[[8, 1, 1, 0, 0], [8, 2, 1, 0, 0], [8, 2, 1, 8, 1], [8, 2, 1, 8, 1], [8, 2, 1, 8, 1]])
BACKBONES = {
    'GhostNet': lambda s: ghostnet.GhostNet(0.1, out_indices=(0, 1, 2, 3, 4), out_stride=s),
    'GhostNetV2': lambda s: ghostnet.GhostNetV2(0.1, out_indices=(0, 1, 2, 3, 4), out_stride=s),
    'MobileViT': lambda s: mobilevit.MobileViT(TINY_VIT, out_indices=(0, 1, 2, 3, 4), out_stride=s),
    'OctMobileNetV2': lambda s: oct_mobilenet.OctMobileNetV2(0.1, out_indices=(0, 1, 2, 3, 4), out_stride=s),
    'OctResNet': lambda s: oct_resnet.OctResNet(26, stem_channels=8, out_indices=(0, 1, 2, 3), out_stride=s),
    'DYMobileNetV2': lambda s: dy_mobilenet.DYMobileNetV2(0.1, K=2, out_indices=(0, 1, 2, 3, 4), out_stride=s),
    'DYResNet': lambda s: dy_resnet.DYResNet(10, K=2, out_indices=(0, 1, 2, 3), out_stride=s),
}
_built = {}


def backbone(name, out_stride):
    if (name, out_stride) not in _built:
        torch.manual_seed(0)
        _built[name, out_stride] = BACKBONES[name](out_stride).eval()
    return _built[name, out_stride]


@settings(PROPERTY, max_examples=80)
@given(name=st.sampled_from(sorted(BACKBONES)), out_stride=st.sampled_from([8, 32]), n=BATCH,
       h=st.integers(0, 40), w=st.integers(0, 40), channels=st.sampled_from([3, 3, 3, 1]))
def test_backbone_shapes(name, out_stride, n, h, w, channels):
    model = backbone(name, out_stride)
    outs = run(model, torch.randn(n, channels, h, w), input_ok=h >= 1 and w >= 1 and channels == 3)
    if outs is None:
        return
    strides = [min(s, out_stride) for s in model.stage_strides]
    expected = [(n, model.stage_channels[i], down(h, strides[i]), down(w, strides[i])) for i in model.out_indices]
    assert [tuple(o.shape) for o in outs] == expected
    assert tuple(o.shape[1] for o in outs) == model.out_channels
