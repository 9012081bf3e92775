import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from lwmm.analysis import count_complexity
from lwmm.models.layers.dynamic_conv import ConversionRule, DynamicConv2d, convert_to_dynamic, draw_kernels_apart
from lwmm.registry import MODELS


def _one_hot(k: int, num_kernels: int) -> torch.Tensor:
    return F.one_hot(torch.tensor(k), num_kernels).float()


def test_registered():
    # scoped as configs name it, so a default scope another test left behind (mmseg, mmdet) does not matter
    layer = MODELS.build(dict(type='lwmm.DynamicConv2d', in_channels=4, out_channels=6, kernel_size=3, K=2))
    assert isinstance(layer, DynamicConv2d)
    assert layer.weight.shape == (2, 6, 4, 3, 3)


def test_k1_equals_conv2d():
    torch.manual_seed(0)
    dynamic = DynamicConv2d(8, 12, 3, stride=2, padding=1, K=1)
    conv = nn.Conv2d(8, 12, 3, stride=2, padding=1)
    conv.weight.data.copy_(dynamic.weight[0])
    conv.bias.data.copy_(dynamic.bias[0])
    x = torch.randn(3, 8, 11, 9)
    torch.testing.assert_close(dynamic(x), conv(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('groups', [1, 2, 8])
@pytest.mark.parametrize('k', [0, 3])
def test_one_hot_attention_selects_a_kernel(fix_attention, spread_dynamic_kernels, groups, k):
    torch.manual_seed(0)
    dynamic = spread_dynamic_kernels(DynamicConv2d(8, 16, 3, padding=2, dilation=2, groups=groups, K=4))
    fix_attention(dynamic.attention, _one_hot(k, 4))
    x = torch.randn(2, 8, 10, 10)
    expected = F.conv2d(x, dynamic.weight[k], dynamic.bias[k], padding=2, dilation=2, groups=groups)
    torch.testing.assert_close(dynamic(x), expected, atol=1e-5, rtol=1e-5)


def test_output_is_conv_with_attention_weighted_kernel(spread_dynamic_kernels):
    torch.manual_seed(0)
    dynamic = spread_dynamic_kernels(DynamicConv2d(6, 10, 3, padding=1, K=3, temperature=2.0))
    x = torch.randn(1, 6, 7, 7)
    attention = dynamic.attention(x)
    assert attention.shape == (1, 3)
    torch.testing.assert_close(attention.sum(1), torch.ones(1))
    weight = (attention[0, :, None, None, None, None] * dynamic.weight).sum(0)
    bias = (attention[0, :, None] * dynamic.bias).sum(0)
    torch.testing.assert_close(dynamic(x), F.conv2d(x, weight, bias, padding=1), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('groups', [1, 4])
def test_batch_equals_samples_one_by_one(spread_dynamic_kernels, groups):
    torch.manual_seed(0)
    # kernels set apart: built as copies, they make the output blind to the attention
    dynamic = spread_dynamic_kernels(DynamicConv2d(8, 12, 3, stride=2, padding=1, groups=groups, K=4, temperature=0.5))
    x = torch.randn(5, 8, 13, 12)
    batched = dynamic(x)
    single = torch.cat([dynamic(sample[None]) for sample in x])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)
    # the attention does differ between the samples, so the batched path really mixes per sample
    attention = dynamic.attention(x)
    assert (attention - attention[:1]).abs().max() > 1e-4


def test_depthwise_kernels_have_one_input_channel():
    dynamic = DynamicConv2d(32, 32, 5, padding=2, groups=32, K=4)
    assert dynamic.weight.shape == (4, 32, 1, 5, 5)
    out = dynamic(torch.randn(2, 32, 9, 9))
    assert out.shape == (2, 32, 9, 9)
    grouped = DynamicConv2d(16, 24, 3, groups=4, bias=False, K=2)
    assert grouped.weight.shape == (2, 24, 4, 3, 3) and grouped.bias is None
    assert grouped(torch.randn(3, 16, 6, 6)).shape == (3, 24, 4, 4)


def test_kernels_start_as_copies_of_one_conv_kernel():
    torch.manual_seed(0)
    dynamic = DynamicConv2d(16, 16, 3, K=4)
    for param in (dynamic.weight, dynamic.bias):
        assert torch.equal(param, param[:1].expand_as(param))
    bound = 1 / (16 * 9)**0.5
    assert dynamic.weight.abs().max() <= bound + 1e-6 and dynamic.weight.std() > bound / 3
    assert dynamic.bias.abs().max() <= bound + 1e-6 and dynamic.bias.std() > 0
    # equal kernels: the layer is a static conv at any attention
    x = torch.randn(3, 16, 7, 7)
    static = F.conv2d(x, dynamic.weight[0], dynamic.bias[0])
    assert torch.allclose(dynamic(x), static, atol=1e-5)


def test_attention_sets_copied_kernels_apart_in_training():
    torch.manual_seed(0)
    dynamic = DynamicConv2d(8, 8, 3, K=4)
    optimizer = torch.optim.SGD(dynamic.parameters(), lr=0.1)
    dynamic(torch.randn(4, 8, 6, 6)).square().mean().backward()
    optimizer.step()
    flat = dynamic.weight.flatten(1)
    assert all(not torch.allclose(flat[i], flat[j]) for i in range(4) for j in range(i + 1, 4))


def test_temperature_flattens_attention():
    torch.manual_seed(0)
    dynamic = DynamicConv2d(8, 8, 1, K=4)
    with torch.no_grad():
        dynamic.attention.fc2.weight.mul_(50)
    x = torch.randn(4, 8, 5, 5)
    dynamic.temperature = 1.0
    sharp = dynamic.attention(x)
    dynamic.temperature = 1000.0
    flat = dynamic.attention(x)
    assert (flat - 0.25).abs().max() < (sharp - 0.25).abs().max()
    assert (flat - 0.25).abs().max() < 1e-2


def test_gradients_reach_kernels_and_attention():
    torch.manual_seed(0)
    dynamic = DynamicConv2d(16, 6, 3, padding=1, K=3)
    x = torch.randn(2, 16, 6, 6)
    # kernels still equal (the initialisation): the output does not depend on the attention yet
    dynamic(x).square().sum().backward()
    assert dynamic.weight.grad.abs().sum() > 0
    assert dynamic.attention.fc1.weight.grad.abs().max() < 1e-5
    dynamic.zero_grad()
    with torch.no_grad():
        dynamic.weight.normal_()
    dynamic(x).square().sum().backward()
    assert dynamic.weight.grad.abs().sum() > 0
    assert dynamic.attention.fc1.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('kwargs', [dict(K=0), dict(K=2.5), dict(K=True), dict(groups=3), dict(groups=0),
                                    dict(reduction=0), dict(reduction=2.0), dict(temperature=0),
                                    dict(temperature='30')])
def test_invalid_arguments(kwargs):
    args = dict(in_channels=8, out_channels=8, kernel_size=3)
    args.update(kwargs)
    name, value = next(iter(kwargs.items()))
    with pytest.raises(ValueError, match=f'^DynamicConv2d: {name}={value!r}'):
        DynamicConv2d(**args)


@pytest.mark.parametrize('value', [0, -1.0, float('inf'), 'hot'])
def test_temperature_setter_checks_as_the_constructor(value):
    """The annealing hook sets the temperature through the property: the same check, the same message."""
    conv = DynamicConv2d(8, 8, 3)
    with pytest.raises(ValueError) as from_setter:
        conv.temperature = value
    with pytest.raises(ValueError) as from_constructor:
        DynamicConv2d(8, 8, 3, temperature=value)
    assert str(from_setter.value) == str(from_constructor.value)
    assert str(from_setter.value).startswith(f'DynamicConv2d: temperature={value!r} is not supported')
    assert conv.temperature == 1.0


def test_complexity_counts_attention_and_aggregation():
    conv = DynamicConv2d(16, 32, 3, padding=1, K=4, bias=False)
    static = nn.Conv2d(16, 32, 3, padding=1, bias=False)
    dynamic_count = count_complexity(conv, (1, 16, 8, 8))
    static_count = count_complexity(static, (1, 16, 8, 8))
    kernel = 32 * 16 * 9
    attention = 16 * 4 + 4 * 4
    assert static_count['macs'] == kernel * 64
    assert dynamic_count['macs'] == kernel * 64 + 4 * kernel + attention
    assert dynamic_count['params'] == 4 * kernel + attention + 4 + 4


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 2, 1)
        self.body = nn.Sequential(nn.Conv2d(8, 16, 1), nn.Conv2d(16, 16, 3, padding=1, groups=16),
                                  nn.Conv2d(16, 16, 3, padding=1, groups=4), nn.Conv2d(16, 8, 1, bias=False))
        self.head = nn.Conv2d(8, 4, 3)

    def forward(self, x):
        return self.head(self.body(self.stem(x)))


@pytest.mark.parametrize('rule, expected', [
    (None, ['body.0', 'body.1', 'body.2', 'body.3', 'head']),
    (dict(skip_first=0), ['stem', 'body.0', 'body.1', 'body.2', 'body.3', 'head']),
    (dict(depthwise=False), ['body.0', 'body.2', 'body.3', 'head']),
    (dict(pointwise=False), ['body.1', 'body.2', 'head']),
    (dict(grouped=False), ['body.0', 'body.1', 'body.3', 'head']),
    (dict(exclude=['^head$']), ['body.0', 'body.1', 'body.2', 'body.3']),
    (dict(include=[r'body\.[01]']), ['body.0', 'body.1']),
    (dict(min_in_channels=16), ['body.1', 'body.2', 'body.3']),
    (lambda name, conv, index: conv.kernel_size == (3, 3), ['stem', 'body.1', 'body.2', 'head']),
])
def test_convert_to_dynamic_rules(rule, expected):
    net = convert_to_dynamic(_Net(), K=3, rule=rule)
    assert net.dynamic_conv_names == expected
    converted = [name for name, m in net.named_modules() if isinstance(m, DynamicConv2d)]
    assert converted == expected
    for name in expected:
        module = net.get_submodule(name)
        assert module.num_kernels == 3
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 4, 6, 6)


def test_convert_keeps_shape_arguments_and_inherits_weights():
    torch.manual_seed(0)
    net = _Net().eval()
    x = torch.randn(2, 3, 15, 17)
    expected = net(x)
    convert_to_dynamic(net, rule=dict(skip_first=0), inherit_weights=True, temperature=3.0)
    grouped = net.body[2]
    assert (grouped.groups, grouped.padding, grouped.weight.shape) == (4, (1, 1), (4, 16, 4, 3, 3))
    assert net.body[3].bias is None and net.stem.stride == (2, 2) and net.stem.temperature == 3.0
    torch.testing.assert_close(net(x), expected, atol=1e-5, rtol=1e-5)


def test_invalid_rule():
    with pytest.raises(ValueError, match='rule'):
        convert_to_dynamic(_Net(), rule='all')
    with pytest.raises(ValueError, match='skip_first'):
        ConversionRule(skip_first=-1)
    with pytest.raises(ValueError, match='exclude'):
        ConversionRule(exclude='head')


def _shared_layer():
    return DynamicConv2d(64, 64, 3, padding=1, K=4), (1, 64, 32, 32)


def _shared_network():
    from lwmm.models.backbones.dy_mobilenet import DYMobileNetV2
    return DYMobileNetV2(widen_factor=0.35, out_indices=(2, 4)), (1, 3, 64, 64)


@pytest.mark.parametrize('build', [_shared_layer, _shared_network], ids=['layer', 'DY-MobileNetV2'])
@pytest.mark.parametrize('grad_mode', [torch.no_grad, torch.inference_mode])
def test_threads_sharing_a_model_get_their_own_outputs(spread_dynamic_kernels, build, grad_mode):
    """A threaded server shares one model in eval mode: every thread's batch-1 outputs must be exactly what
    the model gives that input alone. A kernel buffer kept on the layer between calls broke this."""
    torch.manual_seed(0)
    model, shape = build()
    spread_dynamic_kernels(model).eval()
    num_threads, calls = 4, 25
    inputs = [torch.randn(shape) for _ in range(num_threads)]
    with grad_mode():
        expected = [model(x) for x in inputs]
    start = threading.Barrier(num_threads)

    def work(index):
        wrong = 0
        with grad_mode():  # grad mode is per thread
            start.wait()
            for _ in range(calls):
                outputs = model(inputs[index])
                outputs = outputs if isinstance(outputs, tuple) else (outputs, )
                references = expected[index] if isinstance(expected[index], tuple) else (expected[index], )
                wrong += not all(torch.equal(o, r) for o, r in zip(outputs, references))
        return wrong

    with ThreadPoolExecutor(num_threads) as pool:
        wrong = list(pool.map(work, range(num_threads)))
    assert wrong == [0] * num_threads, f'wrong outputs per thread (of {calls} calls each): {wrong}'


def test_every_grad_mode_gives_the_autograd_result(spread_dynamic_kernels):
    """One forward for every mode: without autograd the outputs are those with autograd, nothing but the
    parameters is in the state dict, and a change of the kernels shows at once (nothing cached)."""
    torch.manual_seed(0)
    dynamic = spread_dynamic_kernels(DynamicConv2d(8, 12, 3, padding=1, K=4, temperature=0.3))
    x = torch.randn(2, 8, 9, 9)
    expected = [dynamic(sample[None]).detach() for sample in x]
    for mode in (torch.no_grad, torch.inference_mode, torch.no_grad, torch.inference_mode):
        with mode():
            for sample, reference in zip(x, expected):
                torch.testing.assert_close(dynamic(sample[None]), reference, atol=1e-5, rtol=1e-5)
    assert set(dynamic.state_dict()) == {'weight', 'bias', 'attention.fc1.weight', 'attention.fc1.bias',
                                         'attention.fc2.weight', 'attention.fc2.bias'}
    first = dynamic(x[:1]).detach()
    with torch.no_grad():
        dynamic.weight.mul_(2)
        dynamic.bias.mul_(2)
        torch.testing.assert_close(dynamic(x[:1]), 2 * first, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('batch', [1, 3])
def test_attention_is_the_papers_formula(batch):
    """One attention forward for every batch size: softmax(FC(ReLU(FC(mean(x)))) / tau), each sample alone."""
    torch.manual_seed(0)
    attention = DynamicConv2d(12, 8, 3, K=4, temperature=0.3).attention
    x = torch.randn(batch, 12, 7, 5)
    reference = F.softmax(attention.fc2(F.relu(attention.fc1(x.mean((2, 3))))) / 0.3, dim=1)
    torch.testing.assert_close(attention(x), reference)
    torch.testing.assert_close(attention(x[-1:]), reference[-1:])


def test_tracing_records_the_forward(spread_dynamic_kernels):
    """torch.jit.trace (and so a static-batch ONNX export) records the one forward, at any batch."""
    torch.manual_seed(0)
    conv = spread_dynamic_kernels(DynamicConv2d(8, 6, 3, padding=1, K=4)).eval()
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        expected = conv(x)
        traced = torch.jit.trace(conv, x)
        torch.testing.assert_close(traced(x), expected)
    graph = str(traced.inlined_graph)
    assert 'aten::mean' in graph and 'aten::_convolution' in graph


@pytest.mark.parametrize('batch', [1, 3])
def test_compiles_to_one_graph(spread_dynamic_kernels, batch):
    """torch.compile captures the layer whole, once (a kernel buffer kept on the layer once made dynamo break
    the graph and recompile on every call, so a compiled DY network ran slower than the eager one)."""
    import torch._dynamo
    torch.manual_seed(0)
    model = nn.Sequential(DynamicConv2d(8, 16, 3, padding=1), nn.ReLU(),
                          DynamicConv2d(16, 16, 3, padding=1, groups=16))
    spread_dynamic_kernels(model).eval()
    x = torch.randn(batch, 8, 10, 10)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = torch.compile(model, backend='eager', fullgraph=True)
    with torch.inference_mode():
        expected = model(x)
        for _ in range(3):
            torch.testing.assert_close(compiled(x), expected)
    assert torch._dynamo.utils.counters['stats']['unique_graphs'] == 1
    torch._dynamo.reset()


def test_built_by_mmcv_conv_module():
    from mmcv.cnn import ConvModule
    module = ConvModule(8, 16, 3, stride=2, padding=1, conv_cfg=dict(type='lwmm.DynamicConv2d', K=2),
                        norm_cfg=dict(type='BN'))
    assert isinstance(module.conv, DynamicConv2d) and module.conv.num_kernels == 2
    assert module.conv.bias is None  # ConvModule drops the bias before a norm layer
    assert module(torch.randn(2, 8, 10, 10)).shape == (2, 16, 5, 5)


def test_draw_kernels_apart_redraws_every_dynamic_kernel():
    model = nn.Sequential(DynamicConv2d(8, 8, 3, K=4), nn.Conv2d(8, 8, 1), DynamicConv2d(8, 8, 1, K=2, bias=False))
    static = model[1].weight.clone()
    state = torch.get_rng_state()
    draw_kernels_apart(model, torch.Generator().manual_seed(0))
    assert torch.equal(torch.get_rng_state(), state) and torch.equal(model[1].weight, static)
    for layer, bound in ((model[0], 1 / 72**0.5), (model[2], 1 / 8**0.5)):
        flat = layer.weight.flatten(1)
        assert all(not torch.allclose(flat[i], flat[j]) for i in range(len(flat)) for j in range(i + 1, len(flat)))
        assert flat.abs().max() <= bound and flat.std() > bound / 3
    assert not torch.allclose(model[0].bias[0], model[0].bias[1])
