import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from lwmm.analysis import count_complexity
from lwmm.models.layers.octave_conv import (OctaveConv2d, OctaveConvModule, add_upsampled, octave_add,
                                            octave_merge, octave_pack, octave_parts, set_merge_paths,
                                            split_channels, upsample_to)
from lwmm.registry import MODELS


def pair(n, channels, alpha, h, w):
    high_c, low_c = split_channels(channels, alpha)
    if low_c == 0:
        return torch.randn(n, high_c, h, w)
    return torch.randn(n, high_c, h, w), torch.randn(n, low_c, (h + 1) // 2, (w + 1) // 2)


def reference(layer: OctaveConv2d, x):
    """The paper's four paths written out with F.conv2d, pooling and repeat_interleave."""
    high, low = octave_parts(x)
    s = layer.stride

    def conv(inp, path, groups):
        return F.conv2d(inp, path.weight, path.bias, 1, layer.padding, layer.dilation, groups)

    def pool(inp, k):
        return F.avg_pool2d(inp, k, k, ceil_mode=True, count_include_pad=False)

    def up(inp, size):
        return inp.repeat_interleave(2, 2).repeat_interleave(2, 3)[..., :size[0], :size[1]]

    g_h = layer.in_h if layer.is_depthwise else layer.groups
    g_l = layer.in_l if layer.is_depthwise else layer.groups
    high_in = high if s == 1 else pool(high, 2)
    out_h = conv(high_in, layer.h2h, g_h)
    out_l = conv(pool(high, 2 * s), layer.h2l, layer.groups) if layer.h2l is not None else None
    if low is not None:
        if layer.l2h is not None:
            l2h = conv(low, layer.l2h, layer.groups)
            out_h = out_h + (up(l2h, out_h.shape[-2:]) if s == 1 else l2h)
        if layer.l2l is not None:
            l2l = conv(low if s == 1 else pool(low, 2), layer.l2l, g_l)
            out_l = l2l if out_l is None else out_l + l2l
    return out_h if out_l is None else (out_h, out_l)


def close(a, b):
    a_parts, b_parts = octave_parts(a), octave_parts(b)
    for x, y in zip(a_parts, b_parts):
        assert (x is None) == (y is None)
        if x is not None:
            assert x.shape == y.shape
            torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)


CASES = [  # in, out, k, alpha_in, alpha_out, groups
    (16, 32, 3, 0.5, 0.5, 1),
    (16, 32, 3, 0.0, 0.25, 1),    # first layer
    (16, 32, 3, 0.25, 0.0, 1),    # last layer
    (16, 16, 3, 0.5, 0.5, 16),    # depthwise
    (16, 32, 3, 0.5, 0.5, 4),     # grouped
    (16, 24, 1, 0.25, 0.5, 1),
]


@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('size', [(8, 8), (7, 9), (5, 6)])
@pytest.mark.parametrize('case', CASES)
def test_matches_reference_and_shapes(case, size, stride):
    cin, cout, k, a_in, a_out, groups = case
    layer = OctaveConv2d(cin, cout, k, a_in, a_out, stride=stride, groups=groups, bias=True).eval()
    x = pair(2, cin, a_in, *size)
    out = layer(x)
    close(out, reference(layer, x))
    high, low = octave_parts(out)
    h, w = -(-size[0] // stride), -(-size[1] // stride)
    out_h, out_l = split_channels(cout, a_out)
    assert high.shape == (2, out_h, h, w)
    if out_l:
        assert low.shape == (2, out_l, (h + 1) // 2, (w + 1) // 2)
    else:
        assert low is None
    # the output is a valid input for the next octave layer of the same alpha
    if out_l:
        OctaveConv2d(cout, cout, 3, a_out, a_out)(out)


@pytest.mark.parametrize('case', CASES)
@pytest.mark.parametrize('bias', [False, True])
def test_params_equal_plain_conv(case, bias):
    cin, cout, k, a_in, a_out, groups = case
    octave = OctaveConv2d(cin, cout, k, a_in, a_out, groups=groups, bias=bias)
    plain = nn.Conv2d(cin, cout, k, groups=groups, bias=bias)
    assert sum(p.numel() for p in octave.parameters()) == sum(p.numel() for p in plain.parameters())


def test_depthwise_keeps_only_same_frequency_paths():
    layer = OctaveConv2d(16, 16, 3, 0.5, 0.5, groups=16)
    assert layer.h2l is None and layer.l2h is None
    assert layer.h2h.groups == 8 and layer.l2l.groups == 8


@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('groups', [1, 8])
def test_vanilla_is_exactly_conv2d(stride, groups):
    layer = OctaveConv2d(8, 16, 3, 0.0, 0.0, stride=stride, groups=groups, bias=True)
    conv = nn.Conv2d(8, 16, 3, stride, 1, groups=groups, bias=True)
    conv.load_state_dict({k.replace('h2h.', ''): v for k, v in layer.state_dict().items()})
    x = torch.randn(2, 8, 9, 10)
    torch.testing.assert_close(layer(x), conv(x))
    assert layer((x, None)).shape == conv(x).shape


@pytest.mark.parametrize('alpha', [0.125, 0.25, 0.5, 0.75])
def test_macs_follow_theory(alpha):
    channels, size = 64, 56
    layer = OctaveConv2d(channels, channels, 3, alpha, alpha)
    x = pair(1, channels, alpha, size, size)
    octave = count_complexity(layer, inputs=(x, ))['macs']
    plain = count_complexity(nn.Conv2d(channels, channels, 3, padding=1), (1, channels, size, size))['macs']
    theory = (1 - alpha)**2 + 2 * alpha * (1 - alpha) / 4 + alpha**2 / 4
    assert octave / plain == pytest.approx(theory, rel=1e-9)
    if alpha == 0.5:
        assert octave / plain == pytest.approx(0.4375)


def test_odd_size_upsample_rule():
    low = torch.randn(1, 3, 4, 5)
    up = upsample_to(low, (7, 9))
    torch.testing.assert_close(up, F.interpolate(low, size=(7, 9), mode='nearest'))
    high = torch.randn(1, 3, 8, 10)
    torch.testing.assert_close(add_upsampled(high, low), high + upsample_to(low, (8, 10)))
    torch.testing.assert_close(add_upsampled(high[..., :7, :9], low), high[..., :7, :9] + up)


def test_merge_and_add():
    high, low = torch.randn(2, 6, 7, 7), torch.randn(2, 2, 4, 4)
    merged = octave_merge((high, low))
    assert merged.shape == (2, 8, 7, 7)
    torch.testing.assert_close(merged[:, :6], high)
    torch.testing.assert_close(merged[:, 6:, ::2, ::2], low)
    assert octave_merge(high) is high
    summed = octave_add((high, low), (high, low))
    torch.testing.assert_close(summed[1], 2 * low)
    with pytest.raises(ValueError):
        octave_add((high, low), high)


@pytest.mark.parametrize('kwargs, match', [
    (dict(alpha_in=1.0), 'alpha_in'),
    (dict(alpha_out=-0.1), 'alpha_out'),
    (dict(stride=3), 'stride'),
    (dict(kernel_size=2), 'kernel_size'),
    (dict(padding=0), 'padding'),
    (dict(groups=3), 'groups'),
    (dict(groups=16, out_channels=32), 'depthwise'),
    (dict(groups=16, alpha_out=0.25), 'depthwise'),
    (dict(in_channels=4, alpha_in=0.125), 'alpha_in=0.125'),
])
def test_invalid_arguments(kwargs, match):
    args = dict(in_channels=16, out_channels=16, kernel_size=3, alpha_in=0.5, alpha_out=0.5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        OctaveConv2d(**args)


def test_invalid_inputs():
    layer = OctaveConv2d(16, 16, 3, 0.5, 0.5)
    with pytest.raises(ValueError, match='pair'):
        layer(torch.randn(1, 16, 8, 8))
    with pytest.raises(ValueError, match='low part must be'):
        layer((torch.randn(1, 8, 8, 8), torch.randn(1, 8, 8, 8)))
    with pytest.raises(ValueError, match='low part must be'):
        layer((torch.randn(1, 8, 8, 8), torch.randn(1, 4, 4, 4)))
    with pytest.raises(ValueError, match='high-frequency input'):
        layer((torch.randn(1, 9, 8, 8), torch.randn(1, 8, 4, 4)))
    with pytest.raises(ValueError, match='plain tensor'):
        OctaveConv2d(16, 16, 3, 0.0, 0.5)((torch.randn(1, 16, 8, 8), torch.randn(1, 8, 4, 4)))


def test_module_norms_each_part_and_trains():
    module = MODELS.build(dict(type='OctaveConvModule', in_channels=16, out_channels=32, kernel_size=3,
                               alpha_in=0.5, alpha_out=0.5, stride=2))
    assert module.norm_h.num_features == 16 and module.norm_l.num_features == 16
    x = pair(2, 16, 0.5, 9, 9)
    x = tuple(t.requires_grad_() for t in x)
    high, low = module(x)
    assert high.shape == (2, 16, 5, 5) and low.shape == (2, 16, 3, 3)
    assert high.min() >= 0 and low.min() >= 0
    (high.sum() + low.sum()).backward()
    assert all(p.grad is not None for p in module.parameters())
    last = OctaveConvModule(32, 8, 1, 0.5, 0.0, act_cfg=None)
    assert last.norm_l is None and last((high, low)).shape == (2, 8, 5, 5)


def test_registered_and_buildable_from_root_registry():
    from mmengine.registry import MODELS as ROOT
    layer = ROOT.build(dict(type='lwmm.OctaveConv2d', in_channels=8, out_channels=8, kernel_size=3))
    assert isinstance(layer, OctaveConv2d)


def test_set_dilation_keeps_sizes():
    layer = OctaveConv2d(16, 16, 3, 0.5, 0.5, stride=2)
    layer.set_dilation(2)
    high, low = layer(pair(1, 16, 0.5, 10, 10))
    assert high.shape[-2:] == (10, 10) and low.shape[-2:] == (5, 5)
    assert layer.h2h.dilation == (2, 2) and layer.h2h.padding == (2, 2)


# -- merged paths: fewer, larger convs with the four-path result ------------------------------------------------
class _CountConvs(torch.overrides.TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += getattr(func, '__name__', '') == 'conv2d'
        return func(*args, **(kwargs or {}))


MERGE_CASES = [(a_in, a_out) for a_in in (0.0, 0.25, 0.5, 0.75) for a_out in (0.0, 0.25, 0.5, 0.75)
               if a_in or a_out]


@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('alphas', MERGE_CASES)
def test_merged_equals_paths_with_gradients(alphas, stride):
    a_in, a_out = alphas
    for k, size, bias in ((3, (8, 12), True), (1, (7, 11), False), (3, (5, 6), False)):  # 7, 11: 3 mod 4
        torch.manual_seed(0)
        layer = OctaveConv2d(16, 24, k, a_in, a_out, stride=stride, bias=bias)
        x = pair(2, 16, a_in, *size)
        results = []
        for merge in (False, True):
            layer.merge_paths = merge
            layer.zero_grad()
            inputs = [t.clone().requires_grad_() for t in octave_parts(x) if t is not None]
            out = octave_parts(layer(inputs[0] if len(inputs) == 1 else tuple(inputs)))
            sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum() for o in out if o is not None).backward()
            results.append((out, [t.grad for t in inputs], [p.grad.clone() for p in layer.parameters()]))
        (out_p, in_grad_p, grad_p), (out_m, in_grad_m, grad_m) = results
        close(octave_pack(*out_m), octave_pack(*out_p))
        for a, b in zip(in_grad_m + grad_m, in_grad_p + grad_p):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('case', [(16, 32, 3, 0.5, 0.5, 4), (16, 16, 3, 0.5, 0.5, 16)])
def test_grouped_and_depthwise_run_their_paths(case):
    cin, cout, k, a_in, a_out, groups = case
    layer = OctaveConv2d(cin, cout, k, a_in, a_out, stride=2, groups=groups).eval()
    x = pair(1, cin, a_in, 9, 9)
    with torch.no_grad(), _CountConvs() as counter:
        out = layer(x)
    assert counter.calls == len(layer.paths())
    close(out, reference(layer, x))


@pytest.mark.parametrize('alphas, stride, merged, separate', [
    ((0.5, 0.5), 1, 3, 4),   # H->H; L->H; [H->L | L->L] on [pool(X_h), X_l]
    ((0.5, 0.5), 2, 2, 4),   # [H->H | L->H] on [pool(X_h), X_l]; [H->L | L->L] on its pool
    ((0.5, 0.0), 2, 1, 2),   # the last layer at stride 2: one conv
    ((0.0, 0.5), 1, 2, 2),   # the first layer: nothing shares an input at one resolution
])
def test_merged_conv_calls(alphas, stride, merged, separate):
    layer = OctaveConv2d(16, 16, 3, *alphas, stride=stride).eval()
    x = pair(1, 16, alphas[0], 8, 8)
    for merge, expected in ((True, merged), (False, separate)):
        layer.merge_paths = merge
        with torch.no_grad(), _CountConvs() as counter:
            layer(x)
        assert counter.calls == expected


def test_merged_cache_follows_weight_changes():
    from lwmm.deploy.fuse import fold_octave_conv_module
    torch.manual_seed(0)
    module = OctaveConvModule(16, 16, 3, 0.5, 0.5, stride=2, act_cfg=None)
    for norm in (module.norm_h, module.norm_l):
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
    module.eval()
    x = pair(2, 16, 0.5, 8, 8)

    def check():
        merged = module(x)
        set_merge_paths(module, False)
        close(merged, module(x))
        set_merge_paths(module, True)
        return merged

    with torch.inference_mode():
        before = check()
        module.conv.l2h.weight.mul_(2)             # in place, as BN folding does
        check()
        module.conv.l2h.weight.div_(2)
        module.conv.load_state_dict({k: v + 1 for k, v in module.conv.state_dict().items()})
        check()
        module.conv.load_state_dict({k: v - 1 for k, v in module.conv.state_dict().items()})
        assert fold_octave_conv_module(module)    # new biases on H->H and L->L
        close(check(), before)
    assert sum(p.numel() for p in module.parameters()) == 16 * 16 * 9 + 16
    # kernels cached under inference_mode serve a later forward that records autograd for the input
    layer = OctaveConv2d(16, 16, 3, 0.5, 0.5, stride=2).requires_grad_(False)
    with torch.inference_mode():
        layer(x)
    inputs = tuple(t.clone().requires_grad_() for t in x)
    sum(o.sum() for o in layer(inputs)).backward()
    assert inputs[1].grad is not None


def test_merged_exports_to_onnx(tmp_path):
    ort = pytest.importorskip('onnxruntime')
    layer = OctaveConv2d(16, 16, 3, 0.0, 0.5).eval()
    net = nn.Sequential(layer, OctaveConv2d(16, 16, 3, 0.5, 0.5, stride=2), OctaveConv2d(16, 8, 1, 0.5, 0.0))
    net.eval()
    x = torch.randn(1, 16, 12, 12)
    path = str(tmp_path / 'octave.onnx')
    torch.onnx.export(net, (x, ), path, dynamo=False, opset_version=17)
    import onnx
    ops = [node.op_type for node in onnx.load(path).graph.node]
    assert ops.count('Conv') == 2 + 2 + 2
    # the L->H sum exports as Resize + Add, without the eager 6-d views' shape arithmetic or slices
    assert ops.count('Resize') == 1 and not {'Reshape', 'Shape', 'Slice'} & set(ops)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(got), net(x), atol=1e-5, rtol=1e-5)
