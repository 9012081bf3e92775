"""Latency of Oct-ResNet next to ResNet, with the octave paths run separately and merged (issue 17).

An octave conv has four paths (H->H, H->L, L->H, L->L); ``OctaveConv2d(merge_paths=True)`` runs those that
share an input or an output as one conv. This module times, in one process and in alternation
(:mod:`lwmm.analysis.timing`), the reference ResNet (timm's twin of ``OctResNet(alpha=0)`` where timm is
installed), ``OctResNet(alpha=0)`` and, per alpha, the octave network with separate paths ("paths", the
layer before issue 17) and merged paths ("merged"); optionally the same networks, BN folded, exported to ONNX
and run by ONNX Runtime. :func:`op_census` and :func:`conv_seconds` say where an eager forward's time goes.
``tools/analysis/benchmark_octconv.py`` is the command line.
"""
import collections
import copy
import functools
import os.path as osp
import statistics
import tempfile
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from lwmm.deploy.tasks import ClassifierLogits
from lwmm.models.layers.octave_conv import set_merge_paths

from .complexity import count_complexity
from .config_models import build_model_from_config, load_config
from .timing import check_clock_threads, get_clock, time_interleaved

#: torch functions an eager forward calls, grouped as the census reports them
OP_KINDS = {
    'conv': ('conv2d', ),
    'norm': ('batch_norm', ),
    'add': ('add', '__add__', '__iadd__', 'add_'),
    'pool': ('avg_pool2d', 'max_pool2d', 'adaptive_avg_pool2d'),
    'cat': ('cat', ),
    'act': ('relu', 'relu_'),
}


def build_classifier(depth: int, alpha: float, merge_paths: bool = True) -> nn.Module:
    """The shipped Oct-ResNet classifier (configs/_base_/models/oct_resnet50_cls.py at ``depth``) in eval mode,
    called as ``model(x) -> logits``; ``alpha=0`` is the vanilla ResNet."""
    cfg = load_config('_base_/models/oct_resnet50_cls.py')
    cfg.model.backbone.update(depth=depth, alpha=alpha)
    model = build_model_from_config(cfg)
    set_merge_paths(model, merge_paths)
    return ClassifierLogits(model).eval()


def timm_twin(depth: int) -> Optional[nn.Module]:
    """timm's ``resnet{depth}`` (torchvision's layout), randomly initialised; None without timm."""
    try:
        import timm
    except ImportError:
        return None
    name = f'resnet{depth}'
    return timm.create_model(name, pretrained=False).eval() if name in timm.list_models(name) else None


class _Recorder(torch.overrides.TorchFunctionMode):
    """Records the torch functions a forward calls (and each conv call's arguments, to replay them)."""

    def __init__(self):
        super().__init__()
        self.names = collections.Counter()
        self.convs = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, '__name__', '')
        self.names[name] += 1
        if name == 'conv2d':
            self.convs.append((func, args, kwargs))
        return func(*args, **kwargs)


def _record(model: nn.Module, inputs: torch.Tensor) -> _Recorder:
    with torch.inference_mode(), _Recorder() as recorder:
        model(inputs)
    return recorder


def op_census(model: nn.Module, inputs: torch.Tensor) -> Dict[str, int]:
    """Calls per kind of operator (:data:`OP_KINDS`) in one forward of ``model`` on ``inputs``."""
    names = _record(model, inputs).names
    return {kind: sum(names[name] for name in aliases) for kind, aliases in OP_KINDS.items()}


def conv_seconds(model: nn.Module, inputs: torch.Tensor, repeats: int = 5, clock: str = 'wall') -> float:
    """Median time of the conv calls of one forward, replayed alone on their recorded inputs.

    The forward's time minus this is what an octave network spends outside its convs (norms, additions,
    pooling, the Python of each layer).
    """
    calls = _record(model, inputs).convs

    def replay():
        for func, args, kwargs in calls:
            func(*args, **kwargs)

    return statistics.median(time_interleaved([replay], 1, repeats, get_clock(clock))[0])


def _kept(ratio: float, mac_ratio: float) -> float:
    """Share of the MAC saving that shows as a latency saving: (1 - latency ratio) / (1 - MAC ratio)."""
    return (1 - ratio) / (1 - mac_ratio) if mac_ratio != 1 else float('nan')


def _onnx_runner(model: nn.Module, inputs: torch.Tensor, threads: int, workdir: str, name: str):
    from lwmm.deploy import switch_to_deploy

    from .benchmark_latency import onnx_session
    session = onnx_session(switch_to_deploy(copy.deepcopy(model)), inputs, threads, workdir, name)
    import onnx
    convs = sum(node.op_type == 'Conv' for node in onnx.load(osp.join(workdir, f'{name}.onnx')).graph.node)
    feed = {session.get_inputs()[0].name: inputs.contiguous().numpy()}
    return functools.partial(session.run, None, feed), convs


def benchmark(depth: int = 50,
              alphas: Sequence[float] = (0.125, 0.25, 0.5, 0.75),
              batch_sizes: Sequence[int] = (1, 16),
              size: int = 224,
              threads: int = 1,
              clock: str = 'cpu',
              warmup: int = 2,
              repeats: int = 20,
              large_batch_repeats: int = 5,
              channels_last: bool = True,
              onnxruntime: bool = False,
              census: bool = True,
              seed: int = 0,
              log: Callable[[str], None] = print) -> dict:
    """Time the reference ResNet, ``OctResNet(alpha=0)`` and each alpha with paths separate and merged.

    Returns ``dict(settings=..., rows=[...])``; a row has ``name, alpha, variant ('reference', 'paths',
    'merged'), macs, ms: {batch: median ms}``, with ``onnx_ms`` and ``onnx_convs`` at batch 1 when
    ``onnxruntime``, and ``census`` (:func:`op_census`), ``conv_ms`` (:func:`conv_seconds`) at batch 1
    when ``census``. Batch 1 takes ``repeats`` timed runs, larger batches ``large_batch_repeats``.
    """
    check_clock_threads(clock, threads)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    vanilla = build_classifier(depth, 0.0)
    macs_vanilla = count_complexity(vanilla, (1, 3, size, size))['macs']
    rows = []
    twin = timm_twin(depth)
    if twin is not None:
        rows.append(dict(name=f'timm resnet{depth}', alpha=0.0, variant='reference', model=twin,
                         macs=count_complexity(twin, (1, 3, size, size))['macs']))
    rows.append(dict(name=f'ResNet-{depth} (OctResNet alpha 0)', alpha=0.0, variant='reference', model=vanilla,
                     macs=macs_vanilla))
    for alpha in [a for a in alphas if a != 0]:
        merged = build_classifier(depth, alpha)
        paths = copy.deepcopy(merged)
        set_merge_paths(paths, False)
        macs = count_complexity(merged, (1, 3, size, size))['macs']
        for variant, model in (('paths', paths), ('merged', merged)):
            rows.append(dict(name=f'Oct-ResNet-{depth}', alpha=alpha, variant=variant, model=model, macs=macs))
    for row in rows:
        row['model'] = row['model'].to(memory_format=memory_format)
        row['ms'] = {}
    for batch in batch_sizes:
        inputs = torch.randn(batch, 3, size, size).contiguous(memory_format=memory_format)
        runs = repeats if batch == 1 else large_batch_repeats
        samples = time_interleaved([functools.partial(row['model'], inputs) for row in rows], warmup, runs,
                                   get_clock(clock))
        for row, times in zip(rows, samples):
            row['ms'][batch] = statistics.median(times) * 1e3
            log(f"{row['name']} {row['alpha']:g} {row['variant']}: batch {batch}: {row['ms'][batch]:.1f} ms")
    one = torch.randn(1, 3, size, size)
    if census:
        for row in rows:
            x = one.contiguous(memory_format=memory_format)
            row['census'] = op_census(row['model'], x)
            row['conv_ms'] = conv_seconds(row['model'], x, max(3, repeats // 4), clock) * 1e3
    if onnxruntime:
        with tempfile.TemporaryDirectory() as workdir:
            runners = []
            for index, row in enumerate(rows):
                runner, row['onnx_convs'] = _onnx_runner(row['model'].to(memory_format=torch.contiguous_format),
                                                         one, threads, workdir, f'model{index}')
                runners.append(runner)
            samples = time_interleaved(runners, warmup, repeats, get_clock(clock))
        for row, times in zip(rows, samples):
            row['onnx_ms'] = statistics.median(times) * 1e3
            log(f"{row['name']} {row['alpha']:g} {row['variant']}: onnxruntime batch 1: {row['onnx_ms']:.1f} ms")
    for row in rows:
        del row['model']
    settings = dict(depth=depth, size=size, threads=threads, clock=clock, warmup=warmup, repeats=repeats,
                    large_batch_repeats=large_batch_repeats, batch_sizes=list(batch_sizes),
                    memory_format='channels_last' if channels_last else 'contiguous', torch=torch.__version__)
    return dict(settings=settings, rows=rows)


def markdown(result: dict) -> str:
    """Tables of :func:`benchmark`'s result: latency ratios to the first reference, before/after merging."""
    settings, rows = result['settings'], result['rows']
    base = rows[0]
    macs_base = base['macs']
    batches = settings['batch_sizes']
    lines = [f"Oct-ResNet-{settings['depth']} vs {base['name']}, CPU, {settings['threads']} thread(s), "
             f"{settings['size']}x{settings['size']}, {settings['clock']} clock, median of "
             f"{settings['repeats']} (batch 1) / {settings['large_batch_repeats']} (larger) runs after "
             f"{settings['warmup']} warm-up, models alternating, {settings['memory_format']}, "
             f"torch {settings['torch']}", '']
    onnx = 'onnx_ms' in base
    header = '| model | alpha | paths | GMACs | MAC ratio |'
    for batch in batches:
        header += f' batch {batch} ms | ratio |'
    if onnx:
        header += ' ORT batch 1 ms | ratio | ORT convs |'
    lines += [header, '|' + '---|' * (header.count('|') - 1)]
    for row in rows:
        line = (f"| {row['name']} | {row['alpha']:g} | {row['variant']} | {row['macs'] / 1e9:.3f} | "
                f"{row['macs'] / macs_base:.3f} |")
        for batch in batches:
            line += f" {row['ms'][batch]:.1f} | {row['ms'][batch] / base['ms'][batch]:.3f} |"
        if onnx:
            line += f" {row['onnx_ms']:.1f} | {row['onnx_ms'] / base['onnx_ms']:.3f} | {row['onnx_convs']} |"
        lines.append(line)
    pairs = [(p, m) for p in rows if p['variant'] == 'paths' for m in rows
             if m['variant'] == 'merged' and m['alpha'] == p['alpha']]
    if pairs:
        lines += ['', 'MAC saving kept, (1 - latency ratio) / (1 - MAC ratio), paths -> merged:']
        for paths, merged in pairs:
            mac_ratio = merged['macs'] / macs_base
            kept = []
            for batch in batches:
                before = _kept(paths['ms'][batch] / base['ms'][batch], mac_ratio)
                after = _kept(merged['ms'][batch] / base['ms'][batch], mac_ratio)
                kept.append(f'batch {batch}: {before:.2f} -> {after:.2f}')
            lines.append(f"- alpha {merged['alpha']:g}: " + ', '.join(kept))
    if 'census' in base:
        kinds = list(OP_KINDS)
        lines += ['', 'Where batch 1 goes (calls per forward; conv ms: the conv calls replayed alone):', '',
                  '| model | alpha | paths | ' + ' | '.join(kinds) + ' | conv ms | rest ms |',
                  '|' + '---|' * (len(kinds) + 5)]
        for row in rows:
            counts = ' | '.join(str(row['census'][kind]) for kind in kinds)
            rest = f"{row['ms'][1] - row['conv_ms']:.1f}" if 1 in row['ms'] else '-'
            lines.append(f"| {row['name']} | {row['alpha']:g} | {row['variant']} | {counts} | "
                         f"{row['conv_ms']:.1f} | {rest} |")
    return '\n'.join(lines)
