"""CPU latency of dynamic convolution next to static convolution, with the latency and MAC overheads.

Pairs, each run in one process with a fixed thread count, randomly initialised, in eval mode:

- ``DynamicConv2d`` (K=4) vs ``nn.Conv2d`` of the same shape, for a few layer shapes of MobileNetV2 and
  ResNet-18 (each with BN-style ``bias=False``), at every batch size;
- DY-MobileNetV2 x1.0 vs MobileNetV2 x1.0, as classifiers: the shipped config
  (configs/cls/dy-mobilenetv2-1.0x_in1k.py) and the same config with no conv made dynamic;
- with ``--compile``, the same two classifiers compiled by ``torch.compile`` (inductor), each timed after
  its compilation;
- with ``--breakdown``, where the batch-1 time of DY-MobileNetV2's dynamic convs goes (:func:`breakdown`);
- with ``--batch1-forms``, the layer's forward at batch 1 against other ways to run one sample
  (:data:`BATCH1_FORMS`), for the layer shapes and DY-MobileNetV2 x1.0, all in alternation in one run;
- with ``--onnx``, DY-MobileNetV2 x1.0 in ONNX Runtime as ``export_onnx`` writes it with a dynamic batch
  axis (the per-sample export form) and with a fixed batch (the forward's grouped conv), next to the eager
  forward, at every batch size, in alternation (:func:`onnx_forms`).

It also prints a floor for the batch-1 overhead of any fp32 implementation (:func:`read_floor`): every
image must read all of the dynamic network's parameters (the K kernels and the attention), and the time
to read the parameters it has beyond the static network's, at the read bandwidth measured here, is set
against the static network's latency and against the goal. It is an estimate, from one ``sum``'s
bandwidth, not a proof: a kernel that read faster than ``sum`` would lower it.

For each pair and batch size: ``--warmup`` runs, then the median of ``--repeats`` timed runs taken in
alternation (static, dynamic, static, ...), which keeps the two comparable on a loaded machine. MACs are
``lwmm.analysis.count_complexity`` per sample (the dynamic side includes the kernel attention and the
kernel aggregation). ``latency / MAC`` is the latency overhead over the MAC overhead; the goal is at most 2
at batch 1. Prints a markdown table.

Example::

    python tools/analysis/benchmark_dynamic_conv.py --threads 1 --batch-sizes 1 32 --repeats 20 --clock cpu
"""
import argparse
import copy
import statistics
import weakref

import torch
import torch.nn as nn
import torch.nn.functional as F

from lwmm.analysis import count_complexity
from lwmm.analysis.config_models import build_model_from_config, load_config
from lwmm.analysis.timing import get_clock, time_interleaved
from lwmm.deploy.tasks import ClassifierLogits
from lwmm.models.layers.dynamic_conv import DynamicConv2d, draw_kernels_apart

#: (name, in, out, kernel, stride, groups, input size)
LAYERS = [
    ('3x3 conv 64->64 @56 (ResNet-18 layer1)', 64, 64, 3, 1, 1, 56),
    ('3x3 conv 256->256 @14 (ResNet-18 layer3)', 256, 256, 3, 1, 1, 14),
    ('1x1 conv 96->576 @14 (MobileNetV2 expand)', 96, 576, 1, 1, 1, 14),
    ('3x3 dw conv 576 @14 (MobileNetV2 depthwise)', 576, 576, 3, 1, 576, 14),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 32])
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads (fixed)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--network-repeats', type=int, default=None,
                        help='repeats for the networks at batch > 1 (default: --repeats)')
    parser.add_argument('--no-layers', action='store_true')
    parser.add_argument('--no-networks', action='store_true')
    parser.add_argument('--breakdown', action='store_true',
                        help='also time, at batch 1, the parts of DY-MobileNetV2 x1.0\'s dynamic convs (attention, '
                        'aggregation) against static convs of the same shapes, each layer on its own input')
    parser.add_argument('--batch1-forms', action='store_true',
                        help='also time, at batch 1, the layer\'s forward against a per-call kernel and a kernel '
                        'buffer kept on the module, for the layers and DY-MobileNetV2 x1.0 (BATCH1_FORMS)')
    parser.add_argument('--onnx', action='store_true',
                        help='also time DY-MobileNetV2 x1.0 in ONNX Runtime, exported with a dynamic batch (the '
                        'per-sample form) and with a fixed batch (the grouped conv), against eager PyTorch')
    parser.add_argument('--compile', action='store_true',
                        help='also time both classifiers compiled by torch.compile (inductor; about a minute to compile)')
    parser.add_argument('--clock', choices=['wall', 'cpu'], default='wall',
                        help="'wall': elapsed time; 'cpu': CPU time of the timing thread, which a loaded, shared "
                        "machine disturbs less (only with --threads 1, where all the work runs on that thread)")
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if args.clock == 'cpu' and args.threads != 1:
        parser.error('--clock cpu measures one thread: use it with --threads 1')
    return args


def layer_pair(in_channels, out_channels, kernel, stride, groups):
    padding = kernel // 2
    static = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, groups=groups, bias=False)
    dynamic = DynamicConv2d(in_channels, out_channels, kernel, stride, padding, groups=groups, bias=False, K=4)
    return static.eval(), dynamic.eval()


def network_pair():
    """DY-MobileNetV2 x1.0 as shipped (configs/cls/dy-mobilenetv2-1.0x_in1k.py) and the same config with no conv
    made dynamic (``rule=dict(include=[])``: MobileNetV2 x1.0), each called as ``model(x) -> logits``."""
    cfg = load_config('cls/dy-mobilenetv2-1.0x_in1k.py')
    dynamic = ClassifierLogits(build_model_from_config(cfg))
    cfg.model.backbone.rule = dict(include=[])
    static = ClassifierLogits(build_model_from_config(cfg))
    return static.eval(), dynamic.eval()


def compare(static: nn.Module, dynamic: nn.Module, inputs: torch.Tensor, warmup: int, repeats: int, clock):
    """Median latency in ms of both models, timed in alternation."""
    times = time_interleaved([lambda: static(inputs), lambda: dynamic(inputs)], warmup, repeats, clock)
    return tuple(statistics.median(t) * 1e3 for t in times)


def breakdown(model: nn.Module, inputs: torch.Tensor, warmup: int, repeats: int, clock) -> dict:
    """Median ms over every ``DynamicConv2d`` of ``model``, each run on the input it gets in ``model(inputs)``
    (batch 1): the dynamic convs, their kernel attention alone, their kernel aggregation alone (with the
    attention of that input), and static convs of the same shapes; timed in alternation. The ``1x1``
    entries run the same layers on 1x1 inputs of the same channels: what is left there is the per-call
    cost of the operators (and, for the aggregation, reading the kernels), not of the feature maps."""
    if inputs.shape[0] != 1:
        raise ValueError(f'breakdown: inputs of batch {inputs.shape[0]} given; it times the batch-1 path, use 1')
    layers, layer_inputs = [], []

    def record(module, args, output):
        layers.append(module)
        layer_inputs.append(args[0])

    handles = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, DynamicConv2d)]
    try:
        with torch.inference_mode():
            model.eval()(inputs)
    finally:
        for handle in handles:
            handle.remove()
    statics = [
        nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                  bias=m.bias is not None).eval() for m in layers
    ]
    with torch.inference_mode():
        attentions = [m.attention(x) for m, x in zip(layers, layer_inputs)]
    pairs = list(zip(layers, layer_inputs, attentions, statics))
    points = [torch.randn(1, m.in_channels, 1, 1) for m in layers]
    parts = {
        'static convs': lambda: [static(x) for _, x, _, static in pairs],
        'dynamic convs': lambda: [m(x) for m, x, _, _ in pairs],
        'attention': lambda: [m.attention(x) for m, x, _, _ in pairs],
        'aggregation': lambda: [m.aggregate(a) for m, _, a, _ in pairs],
        'static convs, 1x1 inputs': lambda: [static(x) for (_, _, _, static), x in zip(pairs, points)],
        'dynamic convs, 1x1 inputs': lambda: [m(x) for m, x in zip(layers, points)],
        'attention, 1x1 inputs': lambda: [m.attention(x) for m, x in zip(layers, points)],
    }
    times = time_interleaved(list(parts.values()), warmup, repeats, clock)
    return dict(layers=len(layers), **{name: statistics.median(t) * 1e3 for name, t in zip(parts, times)})


def _batched(m: DynamicConv2d, x: torch.Tensor) -> torch.Tensor:
    """The batched form: per-sample kernels by ``aggregate``, one conv with the batch folded into the groups."""
    batch, channels, height, width = x.shape
    weight, bias = m.aggregate(m.attention(x))
    out = F.conv2d(x.reshape(1, batch * channels, height, width), weight, bias, m.stride, m.padding, m.dilation,
                   m.groups * batch)
    return out.reshape(batch, m.out_channels, *out.shape[2:])


def _local_kernel(m: DynamicConv2d, x: torch.Tensor) -> torch.Tensor:
    """One sample's kernel aggregated into a fresh tensor each call, then a plain conv (no module state)."""
    attention = m.attention(x)
    weight = torch.mm(attention, m.weight.flatten(1)).view(m.out_channels, *m.weight.shape[2:])
    bias = None if m.bias is None else torch.mm(attention, m.bias).view(-1)
    return F.conv2d(x, weight, bias, m.stride, m.padding, m.dilation, m.groups)


def _addmv_attention(m: DynamicConv2d, x: torch.Tensor) -> torch.Tensor:
    """The forward with the batch-1 attention lwmm had until 2026-12: sum over (N, H, W), the mean's division
    folded into the first FC, both FCs as ``addmv`` (fewer operators than ``mean`` and two ``nn.Linear``)."""
    a = m.attention
    pooled = x.sum((0, 2, 3))
    hidden = torch.addmv(a.fc1.bias, a.fc1.weight, pooled, alpha=1.0 / (x.shape[2] * x.shape[3]))
    logits = torch.addmv(a.fc2.bias, a.fc2.weight, hidden.relu_()) / a.temperature
    weight, bias = m.aggregate(F.softmax(logits, dim=0).unsqueeze(0))
    return F.conv2d(x, weight, bias, m.stride, m.padding, m.dilation, m.groups)


_kept_buffers = weakref.WeakKeyDictionary()


def _kept_buffer(m: DynamicConv2d, x: torch.Tensor) -> torch.Tensor:
    """As :func:`_local_kernel`, but the kernel is written into one buffer per layer kept between calls (what
    lwmm's batch-1 path did until it was found to give wrong outputs to threads sharing a model)."""
    attention = m.attention(x)
    flat = m.weight.flatten(1)
    buffer = _kept_buffers.get(m)
    if buffer is None:
        buffer = _kept_buffers[m] = flat.new_empty(1, flat.shape[1])
    torch.mm(attention, flat, out=buffer)
    bias = None if m.bias is None else torch.mm(attention, m.bias).view(-1)
    return F.conv2d(x, buffer.view(m.out_channels, *m.weight.shape[2:]), bias, m.stride, m.padding, m.dilation,
                    m.groups)


#: ways to run a ``DynamicConv2d`` on one sample, timed by ``--batch1-forms``; None: the layer's own forward
BATCH1_FORMS = {'forward': None, 'batched': _batched, 'per-call kernel': _local_kernel,
                'kept kernel buffer': _kept_buffer, 'addmv attention': _addmv_attention}


def with_form(model: nn.Module, form) -> nn.Module:
    """A copy of ``model`` whose ``DynamicConv2d`` layers run ``form(layer, x)`` instead of their forward."""
    model = copy.deepcopy(model)
    if form is not None:
        for m in model.modules():
            if isinstance(m, DynamicConv2d):
                m.forward = (lambda layer: lambda x: form(layer, x))(m)
    return model


def batch1_forms(warmup: int, repeats: int, clock) -> list:
    """Median batch-1 ms of each of :data:`BATCH1_FORMS` for every layer shape of :data:`LAYERS` and for
    DY-MobileNetV2 x1.0 (as a classifier), each case's forms timed in alternation; every form's output is
    checked against the forward's first."""
    cases = [(name, layer_pair(cin, cout, kernel, stride, groups)[1], (1, cin, size, size))
             for name, cin, cout, kernel, stride, groups, size in LAYERS]
    cases.append(('DY-MobileNetV2 x1.0 (classifier)', network_pair()[1], (1, 3, 224, 224)))
    rows = []
    for name, model, shape in cases:
        draw_kernels_apart(model)  # built kernels are copies: a form that ignored the attention would agree
        models = [with_form(model, form) for form in BATCH1_FORMS.values()]
        inputs = torch.randn(shape)
        with torch.inference_mode():
            reference = models[0](inputs)
            for form, other in zip(list(BATCH1_FORMS)[1:], models[1:]):
                torch.testing.assert_close(other(inputs), reference, rtol=1e-4, atol=1e-4, msg=f'{name}: {form}')
        times = time_interleaved([(lambda m: lambda: m(inputs))(m) for m in models], warmup, repeats, clock)
        rows.append((name, [statistics.median(t) * 1e3 for t in times]))
        print(f'# batch-1 forms, {name}: ' + ', '.join(f'{ms:.3f}' for ms in rows[-1][1]), flush=True)
    return rows


def onnx_forms(batch_sizes, warmup: int, repeats: int, clock, threads: int, folder: str) -> list:
    """Median ms of DY-MobileNetV2 x1.0 (classifier) per batch size, three ways timed in alternation: eager
    PyTorch; ONNX Runtime on the file ``export_onnx`` writes with a dynamic batch axis (the per-sample
    export form, one file for every batch, exported at batch 1); ONNX Runtime on a fixed-batch export (the
    forward's grouped conv, one file per batch size). ``export_onnx`` checks each file against PyTorch."""
    import os.path as osp

    import onnxruntime as ort

    from lwmm.deploy.onnx import export_onnx

    model = network_pair()[1]
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    options.log_severity_level = 3

    def session(path):
        run = ort.InferenceSession(path, options, providers=['CPUExecutionProvider']).run
        return lambda x: run(None, {'input': x})

    dynamic = session(export_onnx(model, torch.randn(1, 3, 224, 224), osp.join(folder, 'dynamic-batch.onnx')))
    rows = []
    for batch in batch_sizes:
        inputs = torch.randn(batch, 3, 224, 224)
        fixed = session(export_onnx(model, inputs, osp.join(folder, f'batch{batch}.onnx'), dynamic_batch=False))
        array = inputs.numpy()
        with torch.inference_mode():
            times = time_interleaved([lambda: model(inputs), lambda: dynamic(array), lambda: fixed(array)], warmup,
                                     repeats, clock)
        rows.append((batch, *(statistics.median(t) * 1e3 for t in times)))
        print(f'# ONNX, batch {batch}: ' + ', '.join(f'{ms:.3f}' for ms in rows[-1][1:]), flush=True)
    return rows


def read_bandwidth(num_bytes: int, repeats: int, clock) -> float:
    """Bytes per second at which one ``sum`` reads an fp32 buffer of ``num_bytes`` (the median of ``repeats``)."""
    buffer = torch.rand(num_bytes // 4)
    seconds = statistics.median(time_interleaved([buffer.sum], 3, repeats, clock)[0])
    return buffer.numel() * 4 / seconds


def read_floor(static: nn.Module, dynamic: nn.Module, static_ms: float, mac_overhead: float, repeats: int,
               clock) -> dict:
    """The batch-1 latency overhead that reading the dynamic network's extra parameters alone costs.

    Whatever the implementation, each image's kernels are aggregated from all K kernels, so every
    parameter is read once per image; this is the time to read the parameters the dynamic network has
    beyond the static one, at the read bandwidth ``sum`` reaches on a buffer of that size (a favourable
    figure: nothing else is done with the data). Pooling, the FC arithmetic and per-operator costs come
    on top.
    """
    extra = sum(p.numel() for p in dynamic.parameters()) - sum(p.numel() for p in static.parameters())
    bandwidth = read_bandwidth(extra * 4, repeats, clock)
    floor_ms = extra * 4 / bandwidth * 1e3
    return dict(extra_params=extra, bandwidth=bandwidth, floor_ms=floor_ms, floor=floor_ms / static_ms,
                goal=2 * mac_overhead, goal_ms=2 * mac_overhead * static_ms)


def compiled_pair():
    """``network_pair`` compiled by ``torch.compile`` and run once (which compiles them)."""
    static, dynamic = network_pair()
    compiled = torch.compile(static), torch.compile(dynamic)
    with torch.inference_mode():
        for model in compiled:
            model(torch.randn(1, 3, 224, 224))
    return compiled


def macs(model: nn.Module, shape) -> int:
    return count_complexity(model, shape)['macs']


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    clock = get_clock(args.clock)
    rows = []
    pairs = []
    if not args.no_layers:
        for name, cin, cout, kernel, stride, groups, size in LAYERS:
            pairs.append((name, *layer_pair(cin, cout, kernel, stride, groups), (cin, size, size), False))
    if not args.no_networks:
        pairs.append(('DY-MobileNetV2 x1.0 vs MobileNetV2 x1.0 (classifiers)', *network_pair(), (3, 224, 224),
                      True))
        if args.compile:
            pairs.append(('the same, torch.compile', *compiled_pair(), (3, 224, 224), True))
    floor = None
    for name, static, dynamic, shape, is_network in pairs:
        # a compiled model is counted through the model it wraps
        static_macs, dynamic_macs = (macs(getattr(m, '_orig_mod', m), (1, *shape)) for m in (static, dynamic))
        mac_overhead = dynamic_macs / static_macs - 1
        for batch in args.batch_sizes:
            repeats = args.repeats
            if is_network and batch > 1 and args.network_repeats:
                repeats = args.network_repeats
            inputs = torch.randn(batch, *shape)
            static_ms, dynamic_ms = compare(static, dynamic, inputs, args.warmup, repeats, clock)
            latency_overhead = dynamic_ms / static_ms - 1
            ratio = latency_overhead / mac_overhead if mac_overhead > 0 else float('inf')
            rows.append((name, batch, static_ms, dynamic_ms, latency_overhead, static_macs, dynamic_macs,
                         mac_overhead, ratio))
            print(f'# {name} batch {batch}: {static_ms:.3f} ms vs {dynamic_ms:.3f} ms', flush=True)
            if is_network and batch == 1 and floor is None:
                floor = read_floor(static, dynamic, static_ms, mac_overhead, args.repeats, clock)

    if rows:
        print(f'\nCPU, {args.threads} thread(s), {args.clock} clock, torch {torch.__version__}, median of '
              f'{args.repeats} runs (networks at batch > 1: {args.network_repeats or args.repeats})\n')
        print('| case | batch | static ms | dynamic ms | latency overhead | static MACs | dynamic MACs | '
              'MAC overhead | latency / MAC |')
        print('|---|---|---|---|---|---|---|---|---|')
        for name, batch, s_ms, d_ms, lat, s_macs, d_macs, mac, ratio in rows:
            print(f'| {name} | {batch} | {s_ms:.3f} | {d_ms:.3f} | {lat * 100:+.1f} % | {s_macs / 1e6:.2f}M | '
                  f'{d_macs / 1e6:.2f}M | {mac * 100:+.2f} % | {ratio:.1f} |')

    if floor is not None:
        print(f'\nThe floor at batch 1: DY-MobileNetV2 x1.0 has {floor["extra_params"] / 1e6:.2f}M parameters more '
              f'than MobileNetV2 x1.0, and every image reads them all; at the {floor["bandwidth"] / 1e9:.1f} GB/s one '
              f'sum reads an fp32 buffer of that size here, that alone takes {floor["floor_ms"]:.2f} ms, '
              f'{floor["floor"] * 100:+.1f} % of the static network\'s batch-1 latency, against a goal of '
              f'{floor["goal"] * 100:+.1f} % ({floor["goal_ms"]:.2f} ms: twice the MAC overhead).')

    if args.batch1_forms:
        forms = list(BATCH1_FORMS)
        rows = batch1_forms(args.warmup, args.repeats, clock)
        print(f'\nBatch 1, eval, no autograd: CPU, {args.threads} thread(s), {args.clock} clock, torch '
              f'{torch.__version__}, median ms of {args.repeats} runs, the forms of each case in alternation; '
              f'ratio: time / {forms[0]}\n')
        print('| case | ' + ' | '.join(f'{form} ms' for form in forms) + ' | '
              + ' | '.join(f'{form} / {forms[0]}' for form in forms[1:]) + ' |')
        print('|---' * (2 * len(forms)) + '|')
        for name, times in rows:
            print(f'| {name} | ' + ' | '.join(f'{ms:.3f}' for ms in times) + ' | '
                  + ' | '.join(f'{ms / times[0]:.3f}' for ms in times[1:]) + ' |')

    if args.onnx:
        import tempfile
        with tempfile.TemporaryDirectory() as folder:
            rows = onnx_forms(args.batch_sizes, args.warmup, args.repeats, clock, args.threads, folder)
        import onnxruntime
        print(f'\nDY-MobileNetV2 x1.0 (classifier), 224x224: CPU, {args.threads} thread(s), {args.clock} clock, torch '
              f'{torch.__version__}, ONNX Runtime {onnxruntime.__version__}, median ms of {args.repeats} runs in '
              f'alternation\n')
        print('| batch | eager PyTorch ms | ORT, dynamic batch (per-sample form) ms | ORT, fixed batch (grouped conv) '
              'ms | dynamic / fixed |')
        print('|---|---|---|---|---|')
        for batch, eager, dynamic, fixed in rows:
            print(f'| {batch} | {eager:.3f} | {dynamic:.3f} | {fixed:.3f} | {dynamic / fixed:.2f} |')

    if args.breakdown:
        dynamic = network_pair()[1]
        parts = breakdown(dynamic, torch.randn(1, 3, 224, 224), args.warmup, args.repeats, clock)
        print(f'\nThe {parts.pop("layers")} dynamic convs of DY-MobileNetV2 x1.0 at batch 1, each on its own input, '
              f'summed; median of {args.repeats} runs:\n')
        print('| part | ms |')
        print('|---|---|')
        for name, ms in parts.items():
            print(f'| {name} | {ms:.3f} |')


if __name__ == '__main__':
    main()
