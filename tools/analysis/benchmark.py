"""CPU latency and training throughput of lwmm models next to the reference implementations.

Classifiers (every config in configs/cls/, or those chosen with --configs / --families), at batch 1 and 32
(--batch-sizes) and at each config's test input (224x224, 256x256 for MobileViT; --size overrides), in three
modes:

- ``eager``: the model as built, in eval mode;
- ``fused``: after ``lwmm.deploy.switch_to_deploy`` (BatchNorm folded into the convolutions);
- ``onnxruntime``: the fused model exported with ``lwmm.deploy.export_onnx`` and run by an ONNX Runtime
  session with the same number of intra-op threads.

In the same run, the reference each lwmm model is compared with (see :func:`references_for`):

- *twins*, the same architecture in timm (``ghostnet_*``, ``ghostnetv2_*``, ``mobilevit_*``: timm's
  checkpoints convert to lwmm's with lwmm.converters), timed eager and in ONNX Runtime. The goals of
  issue #6 apply to them: lwmm eager / timm eager <= 1.00 and lwmm fused / timm eager <= 0.85.
- *baselines*, the static network a dynamic or octave network is built from (mmpretrain's MobileNetV2 /
  MobileNetV3 / ResNet, timm's ``mobilenetv3_small_100``), for the cost of the technique.

Models that share a reference are timed together and in alternation (one run of each model and mode in
turn, ``--repeats`` times after ``--warmup`` runs), so a change of load on the shared machine hits all of
them alike. Latency is the median and 90th percentile of those runs; ``--clock cpu`` times the CPU time of
the calling thread instead of the wall clock (``--threads 1`` only), which a loaded machine disturbs less.
Randomly initialised weights, no downloads.

End-to-end (``--e2e-configs``): detectors and segmentors, ``forward(mode='tensor')`` at the config's input
size, batch 1, eager and fused, against mmdet's SSDLite-MobileNetV2 and mmseg's DeepLabV3-MobileNetV2.

Training (``--train-batch``): images/s of forward + cross-entropy + backward + SGD step on random data at
the classification input size, and the peak resident memory, each model in its own subprocess: ``peak
RSS`` is the process's peak resident memory during training (the kernel's VmHWM, reset once the model is
built; ``ru_maxrss`` where that reset is not possible), ``train memory`` that peak less the resident memory
just before the first step (activations, gradients, optimizer state and allocator caches).

Output: a markdown table on stdout and in ``--out-dir``: ``<timestamp>.json`` and ``latest.json``
(``{"meta": ..., "results": [records]}``, read by tools/analysis/model_zoo.py), ``<timestamp>.md`` and
``<timestamp>.png`` (latency against MACs per family, references marked).

Examples::

    python tools/analysis/benchmark.py                             # everything, 1 thread
    python tools/analysis/benchmark.py --families ghostnet --clock cpu --no-train --no-e2e
    python tools/analysis/benchmark.py --quick --configs configs/cls/ghostnet-0.5x_in1k.py
"""
import argparse
import copy
import datetime
import functools
import glob
import json
import os
import os.path as osp
import platform
import re
import subprocess
import sys
import tempfile
import time

# Busy-waiting OpenMP threads make small CPU ops many times slower when other processes share the cores.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

DEFAULT_OUT_DIR = osp.join('work_dirs', 'benchmark')
MODES = ('eager', 'fused', 'onnxruntime')
#: Issue #6: lwmm eager at most timm eager, lwmm fused at most 0.85 x timm eager.
GOAL_EAGER, GOAL_FUSED = 1.00, 0.85

#: (config stem prefix, family), longest prefixes first.
FAMILIES = [
    ('ghostnetv2', 'GhostNetV2'),
    ('ghostnet', 'GhostNet'),
    ('mobilevit', 'MobileViT'),
    ('dy-mobilenetv2', 'DY-MobileNetV2'),
    ('dy-mobilenetv3', 'DY-MobileNetV3'),
    ('dy-resnet', 'DY-ResNet'),
    ('oct-resnet', 'Oct-ResNet'),
    ('oct-mobilenetv2', 'Oct-MobileNetV2'),
    ('ssdlite', 'SSDLite'),
    ('retinanet', 'RetinaNet'),
    ('deeplabv3', 'DeepLabV3'),
]

#: mmpretrain classifiers used as baselines, built from these backbone and head dicts (random weights).
def _linear_head(channels):
    return dict(type='LinearClsHead', num_classes=1000, in_channels=channels)


MMPRETRAIN_REFERENCES = {
    'mobilenet-v2-0.35x': (dict(type='MobileNetV2', widen_factor=0.35), _linear_head(1280)),
    'mobilenet-v2-0.5x': (dict(type='MobileNetV2', widen_factor=0.5), _linear_head(1280)),
    'mobilenet-v2-0.75x': (dict(type='MobileNetV2', widen_factor=0.75), _linear_head(1280)),
    'mobilenet-v2-1.0x': (dict(type='MobileNetV2', widen_factor=1.0), _linear_head(1280)),
    # mmpretrain's own MobileNetV3-Small classifier head: 576 -> 1024 (hard-swish) -> 1000
    'mobilenet-v3-small': (dict(type='MobileNetV3', arch='small'),
                           dict(type='StackedLinearClsHead', num_classes=1000, in_channels=576, mid_channels=[1024],
                                act_cfg=dict(type='HSwish'))),
    # and its MobileNetV3-Large classifier head: 960 -> 1280 (hard-swish) -> 1000
    'mobilenet-v3-large': (dict(type='MobileNetV3', arch='large'),
                           dict(type='StackedLinearClsHead', num_classes=1000, in_channels=960, mid_channels=[1280],
                                act_cfg=dict(type='HSwish'))),
    'resnet18': (dict(type='ResNet', depth=18), _linear_head(512)),
    'resnet50': (dict(type='ResNet', depth=50), _linear_head(2048)),
}

#: Static baselines of the dynamic / octave classifiers: (config stem regex, [reference names]). The DY-CNN
#: paper compares DY-MobileNetV2/V3 and DY-ResNet with their static networks, OctConv compares
#: Oct-ResNet-50 with ResNet-50 and Oct-MobileNetV2 with MobileNetV2 1.0x. mmpretrain has no ResNet-10.
BASELINES = [
    (r'^dy-mobilenetv2-(?P<w>[\d.]+)x_', ['mmpretrain:mobilenet-v2-{w}x']),
    (r'^dy-mobilenetv3-small_', ['timm:mobilenetv3_small_100', 'mmpretrain:mobilenet-v3-small']),
    (r'^dy-mobilenetv3-large_', ['timm:mobilenetv3_large_100', 'mmpretrain:mobilenet-v3-large']),
    (r'^dy-resnet18_', ['mmpretrain:resnet18']),
    (r'^oct-resnet50-', ['mmpretrain:resnet50']),
    (r'^oct-mobilenetv2_', ['mmpretrain:mobilenet-v2-1.0x']),
]

#: End-to-end references: (config stem regex, reference config, how to find it).
E2E_REFERENCES = [
    (r'^ssdlite_', 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'),
    (r'^deeplabv3_.*_ade20k', 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py'),
]
DEFAULT_E2E = ['configs/det/ssdlite_ghostnetv2_coco.py', 'configs/det/ssdlite_mobilevit-xs_coco.py',
               'configs/seg/deeplabv3_ghostnetv2_ade20k.py', 'configs/seg/deeplabv3_mobilevit-xxs_ade20k.py']


def stem_of(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def family_of(name: str) -> str:
    """The family of a config (path or stem); the stem's first word when no family matches."""
    stem = stem_of(name)
    for prefix, family in FAMILIES:
        if stem.startswith(prefix):
            return family
    return stem.split('_')[0]


@functools.lru_cache(maxsize=1)
def timm_twins() -> dict:
    """{lwmm config stem: timm model name} for the architectures lwmm converts timm's checkpoints of."""
    from lwmm.converters import available_timm_models, timm_config
    # the static twins timm:// also loads (ResNet, MobileNetV2/V3 for the DY and Oct warm starts) have no lwmm
    # classifier of the same architecture: they are baselines, not twins
    configs = {name: timm_config(name) for name in available_timm_models()}
    return {stem_of(config): name for name, config in configs.items() if config}


def references_for(config: str) -> list:
    """[(reference model name, 'twin' | 'baseline')] the lwmm classifier ``config`` is compared with.

    Twins are the timm models with lwmm converters (the same architecture, checkpoints interchangeable);
    baselines are listed in ``BASELINES``. Names are ``'timm:<model>'`` or ``'mmpretrain:<key of
    MMPRETRAIN_REFERENCES>'``.
    """
    stem = stem_of(config)
    twin = timm_twins().get(stem)
    if twin:
        return [(f'timm:{twin}', 'twin')]
    for pattern, names in BASELINES:
        match = re.match(pattern, stem)
        if match:
            return [(name.format(**match.groupdict()), 'baseline') for name in names]
    return []


def e2e_reference_for(config: str):
    stem = stem_of(config)
    for pattern, reference in E2E_REFERENCES:
        if re.match(pattern, stem):
            return reference
    return None


# ----------------------------------------------------------------------------------------------- models
def load_any_config(config: str):
    """A config from a path or from a codebase (``mmdet::...``), with downloading ``pretrained`` removed."""
    from mmengine.config import Config
    if '::' in config:
        from mmengine.hub import get_config
        cfg = get_config(config)
    else:
        if not osp.isfile(config):
            raise FileNotFoundError(f'config {config!r} does not exist: give a path such as '
                                    'configs/cls/ghostnet-1.0x_in1k.py')
        cfg = Config.fromfile(config)
    cfg.model.pop('pretrained', None)
    backbone = cfg.model.get('backbone')
    if backbone is not None and (backbone.get('init_cfg') or {}).get('type') == 'Pretrained':
        backbone.pop('init_cfg')
    return cfg


def build_config_model(config: str):
    """(model in eval mode, (H, W) of its test input) of a config; random weights."""
    from lwmm.analysis.complexity import build_model_from_config, default_input_shape
    cfg = load_any_config(config)
    return build_model_from_config(cfg).eval(), default_input_shape(cfg)


def build_reference(name: str):
    """A reference classifier (eval mode, random weights) from its name, ``timm:`` or ``mmpretrain:``."""
    source, _, key = name.partition(':')
    if source == 'timm':
        import timm
        return timm.create_model(key, pretrained=False).eval()
    if source == 'mmpretrain' and key in MMPRETRAIN_REFERENCES:
        from mmpretrain.registry import MODELS
        backbone, head = copy.deepcopy(MMPRETRAIN_REFERENCES[key])
        model = MODELS.build(
            dict(_scope_='mmpretrain', type='ImageClassifier', backbone=backbone,
                 neck=dict(type='GlobalAveragePooling'), head=head))
        return model.eval()
    raise ValueError(f'reference {name!r} is not known: use timm:<model> or mmpretrain:<one of '
                     f'{sorted(MMPRETRAIN_REFERENCES)}>')


def build_any(name: str):
    """(model, (H, W) or None) for a config path or a reference name."""
    if name.startswith(('timm:', 'mmpretrain:')):
        return build_reference(name), None
    return build_config_model(name)


class TensorForward:
    """Calls ``model(x)``, with ``mode='tensor'`` for OpenMMLab models (raw outputs, no post-processing)."""

    def __init__(self, model, inputs):
        from mmengine.model import BaseModel
        self.model, self.inputs = model, inputs
        self.kwargs = dict(mode='tensor') if isinstance(model, BaseModel) else {}

    def __call__(self):
        return self.model(self.inputs, **self.kwargs)


def tensor_mode_module(model):
    """``model`` itself, or for an OpenMMLab model a module whose ``forward(x)`` is its tensor mode: what
    the ONNX export and the complexity count take."""
    import torch.nn as nn
    from mmengine.model import BaseModel
    if not isinstance(model, BaseModel):
        return model

    class TensorMode(nn.Module):

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x, mode='tensor')

    return TensorMode(model).eval()


def fuse(model):
    from lwmm.deploy import switch_to_deploy
    return switch_to_deploy(copy.deepcopy(model))


def onnx_session(model, inputs, threads: int, workdir: str, name: str):
    """An ONNX Runtime session of ``model`` with ``threads`` intra-op threads.

    The model is exported on one sample of ``inputs``; the graph's batch axis is dynamic.
    """
    import onnxruntime as ort
    from lwmm.deploy import export_onnx
    path = osp.join(workdir, re.sub(r'[^\w.-]', '_', name) + '.onnx')
    export_onnx(tensor_mode_module(model), inputs[:1].contiguous(), path, dynamic_batch=True, check=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning worker threads steal the shared cores from the other processes (and from the timed one).
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


# ---------------------------------------------------------------------------------------------- latency
def _complexity(model, size):
    from lwmm.analysis import count_complexity
    import torch
    if not isinstance(model, torch.nn.Module):
        return None, None
    model = tensor_mode_module(model)
    result = count_complexity(model, (1, 3, *size))
    return result['params'], result['macs']


def classifier_groups(configs):
    """Configs grouped with their references: configs sharing a reference are timed together.

    Returns:
        [(configs, [(reference, kind)])], in the order of the configs.
    """
    groups = []
    for config in configs:
        refs = references_for(config)
        names = {name for name, _ in refs}
        for group_configs, group_refs in groups:
            if names & {name for name, _ in group_refs}:
                group_configs.append(config)
                group_refs.extend(r for r in refs if r[0] not in {n for n, _ in group_refs})
                break
        else:
            groups.append(([config], list(refs)))
    return groups


def time_group(entries, batch, args, workdir, log):
    """Time the modes of each entry in alternation at one batch size.

    Args:
        entries: [dict(name, model, size, modes)]; all entries share ``size``.

    Returns:
        {(name, mode): summary} (see lwmm.analysis.timing.summarize) and {(name, mode): error message}.
    """
    import torch

    from lwmm.analysis.timing import get_clock, summarize, time_interleaved
    size = entries[0]['size']
    inputs = torch.randn(batch, 3, *size)
    if args.channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    runners, keys, errors = [], [], {}
    for entry in entries:
        for mode in entry['modes']:
            try:
                if mode == 'eager':
                    runner = TensorForward(entry['model'], inputs)
                elif mode == 'fused':
                    if 'fused' not in entry:
                        entry['fused'] = fuse(entry['model'])
                    runner = TensorForward(entry['fused'], inputs)
                else:  # the deploy form of lwmm models, the model as built for references; export once
                    if 'onnx_session' not in entry:
                        entry['onnx_session'] = onnx_session(entry.get('fused', entry['model']), inputs,
                                                             args.threads, workdir, entry['name'])
                    session = entry['onnx_session']
                    runner = functools.partial(session.run, None,
                                               {session.get_inputs()[0].name: inputs.contiguous().numpy()})
                runner()  # fail here, not inside the timing loop
            except Exception as err:  # a mode that cannot run is reported, not fatal
                errors[(entry['name'], mode)] = f'{type(err).__name__}: {err}'.splitlines()[0][:200]
                log(f'  ! {entry["name"]} {mode}: {errors[(entry["name"], mode)]}')
                continue
            runners.append(runner)
            keys.append((entry['name'], mode))
    repeats, warmup = (args.repeats, args.warmup) if batch == 1 else (args.large_batch_repeats,
                                                                       args.large_batch_warmup)
    process_start, thread_start = time.process_time(), time.thread_time()
    samples = time_interleaved(runners, warmup, repeats, get_clock(args.clock))
    # The cpu clock sees the calling thread only: record how much CPU other threads of this process used.
    process_cpu = time.process_time() - process_start
    other_threads = max(0.0, process_cpu - (time.thread_time() - thread_start)) / max(process_cpu, 1e-9)
    results = {}
    for key, times in zip(keys, samples):
        results[key] = summarize(times)
        results[key]['other_threads_cpu_share'] = other_threads
    return results, errors


def benchmark_classifiers(configs, args, workdir, log):
    """Latency records of the lwmm classifiers and their references."""
    records = []
    for group_configs, refs in classifier_groups(configs):
        log(f'group: {", ".join(stem_of(c) for c in group_configs)} | references: '
            f'{", ".join(r for r, _ in refs) or "none"}')
        entries = []
        for config in group_configs:
            model, size = build_config_model(config)
            size = (args.size, args.size) if args.size else size
            params, macs = _complexity(model, size)
            entries.append(dict(name=config, model=model, size=size, modes=args.modes, params=params, macs=macs,
                                role='lwmm', implementation='lwmm'))
        size = entries[0]['size']
        for ref, kind in refs:
            model = build_reference(ref)
            params, macs = _complexity(model, size)
            entries.append(dict(name=ref, model=model, size=size, params=params, macs=macs, role='reference',
                                kind=kind, implementation=ref.split(':')[0],
                                modes=[m for m in args.modes if m != 'fused']))
        for batch in args.batch_sizes:
            results, errors = time_group(entries, batch, args, workdir, log)
            group_records = []
            for entry in entries:
                for mode in entry['modes']:
                    record = dict(
                        task='cls', config=osp.relpath(entry['name'], ROOT) if entry['role'] == 'lwmm' else None,
                        model=stem_of(entry['name']) if entry['role'] == 'lwmm' else entry['name'],
                        family=family_of(entry['name'] if entry['role'] == 'lwmm' else group_configs[0]),
                        role=entry['role'],
                        implementation=entry['implementation'], mode=mode, batch=batch,
                        input_size=list(entry['size']), params=entry['params'], macs=entry['macs'])
                    if (entry['name'], mode) in results:
                        summary = results[(entry['name'], mode)]
                        record.update(latency_ms=summary['median_ms'], p90_ms=summary['p90_ms'],
                                      repeats=summary['repeats'],
                                      other_threads_cpu_share=summary['other_threads_cpu_share'])
                    else:
                        record.update(latency_ms=None, error=errors.get((entry['name'], mode), 'not run'))
                    if entry['role'] == 'reference':
                        record['reference_kind'] = entry['kind']
                    group_records.append(record)
            add_ratios(group_records, refs)
            for record in group_records:
                if record['latency_ms'] is not None:
                    log(f"  {record['model']:32s} {record['mode']:12s} batch {batch:3d}: "
                        f"{record['latency_ms']:9.2f} ms (p90 {record['p90_ms']:.2f})"
                        + (f"  ratio {record['ratio']:.3f}" if record.get('ratio') else ''))
            records += group_records
        for entry in entries:  # free memory before the next group
            entry.clear()
    return records


def add_ratios(records, refs):
    """Ratio of each lwmm record to its primary reference at the same batch.

    eager and fused are divided by the reference's eager latency (the issue's goals), onnxruntime by the
    reference's onnxruntime latency. Every reference's ratio is also in ``ratios``.
    """
    latency = {(r['model'], r['mode'], r['batch']): r['latency_ms'] for r in records if r['role'] == 'reference'}
    for record in records:
        if record['role'] != 'lwmm' or not refs:
            continue
        ref_mode = 'onnxruntime' if record['mode'] == 'onnxruntime' else 'eager'
        ratios = {}
        for name, _ in refs:
            ref_ms = latency.get((name, ref_mode, record['batch']))
            if ref_ms and record['latency_ms'] is not None:
                ratios[name] = record['latency_ms'] / ref_ms
        primary, kind = refs[0]
        record.update(reference=primary, reference_kind=kind, reference_mode=ref_mode,
                      reference_latency_ms=latency.get((primary, ref_mode, record['batch'])),
                      ratio=ratios.get(primary), ratios=ratios)
        if kind == 'twin' and record['mode'] in ('eager', 'fused') and record['ratio'] is not None:
            record['goal'] = GOAL_EAGER if record['mode'] == 'eager' else GOAL_FUSED
            record['goal_met'] = record['ratio'] <= record['goal']


def benchmark_e2e(configs, args, workdir, log):
    """Latency records of detectors / segmentors and their mmdet / mmseg references, batch 1."""
    records = []
    reference_cache = {}
    for config in configs:
        reference = e2e_reference_for(config)
        model, size = build_config_model(config)
        params, macs = _complexity(model, size)
        task = 'det' if stem_of(config).startswith(('ssdlite', 'retinanet')) else 'seg'
        entries = [dict(name=config, model=model, size=size, modes=[m for m in args.modes if m != 'onnxruntime'],
                        params=params, macs=macs, role='lwmm', implementation='lwmm')]
        if reference:
            ref_model, ref_size = build_config_model(reference)
            if reference not in reference_cache:
                reference_cache[reference] = _complexity(ref_model, size)
            ref_params, ref_macs = reference_cache[reference]
            entries.append(dict(name=reference, model=ref_model, size=size, modes=['eager'], params=ref_params,
                                macs=ref_macs, role='reference', implementation=reference.split('::')[0]))
        log(f'e2e: {stem_of(config)} vs {reference}')
        saved = args.repeats, args.warmup
        args.repeats, args.warmup = args.e2e_repeats, min(args.warmup, 2)
        try:
            results, errors = time_group(entries, 1, args, workdir, log)
        finally:
            args.repeats, args.warmup = saved
        group = []
        for entry in entries:
            for mode in entry['modes']:
                summary = results.get((entry['name'], mode))
                record = dict(task=task, config=osp.relpath(config, ROOT) if entry['role'] == 'lwmm' else None,
                              model=stem_of(entry['name']), family=family_of(config), role=entry['role'],
                              implementation=entry['implementation'], mode=mode, batch=1, input_size=list(size),
                              params=entry['params'], macs=entry['macs'],
                              latency_ms=summary and summary['median_ms'], p90_ms=summary and summary['p90_ms'])
                if summary is None:
                    record['error'] = errors.get((entry['name'], mode), 'not run')
                group.append(record)
        ref_ms = next((r['latency_ms'] for r in group if r['role'] == 'reference'), None)
        for record in group:
            if record['role'] == 'lwmm' and ref_ms and record['latency_ms']:
                record.update(reference=stem_of(reference), reference_kind='baseline', reference_mode='eager',
                              reference_latency_ms=ref_ms, ratio=record['latency_ms'] / ref_ms)
            if record['latency_ms'] is not None:
                log(f"  {record['model']:40s} {record['mode']:6s}: {record['latency_ms']:9.2f} ms")
        records += group
    return records


# --------------------------------------------------------------------------------------------- training
def train_worker(name, batch, steps, warmup, threads, clock, size):
    """Run in a subprocess: train ``name`` for ``steps`` steps, print one JSON line of measurements."""
    import resource

    import torch
    import torch.nn.functional as F

    from lwmm.analysis.timing import get_clock
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    model, default_size = build_any(name)
    size = (size, size) if size else (default_size or (224, 224))
    model.train()
    step_kwargs = TensorForward(model, None).kwargs
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    inputs = torch.randn(batch, 3, *size)
    labels = torch.randint(0, 1000, (batch, ))
    tick = get_clock(clock)

    def step():
        logits = model(inputs, **step_kwargs)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    # Importing the codebases alone peaks near 1 GB, above what a small model's training adds: reset the
    # kernel's high-water mark (VmHWM) so that the peak is the training's own (Linux >= 4.0).
    peak_source = 'VmHWM'
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        rss_before = _proc_status_kib('VmRSS')
    except OSError:
        peak_source, rss_before = 'ru_maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(warmup):
        step()
    start, process_start, thread_start = tick(), time.process_time(), time.thread_time()
    for _ in range(steps):
        step()
    seconds = tick() - start
    process_cpu = time.process_time() - process_start
    other_threads = max(0.0, process_cpu - (time.thread_time() - thread_start)) / max(process_cpu, 1e-9)
    peak = _proc_status_kib('VmHWM') if peak_source == 'VmHWM' else resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(dict(images_per_s=batch * steps / seconds, step_ms=seconds / steps * 1e3,
                          peak_rss_mb=peak / 1024, train_memory_mb=(peak - rss_before) / 1024,
                          memory_source=peak_source, input_size=list(size), other_threads_cpu_share=other_threads)))


def _proc_status_kib(field):
    """A ``kB`` field of /proc/self/status (VmRSS: resident now, VmHWM: peak since the last reset)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise OSError(f'{field} not in /proc/self/status')


def benchmark_training(configs, args, log):
    """Training records: each lwmm classifier, then its references, each in a fresh subprocess."""
    names, seen = [], set()
    from lwmm.analysis.complexity import default_input_shape
    for config in configs:
        # references train at their lwmm twin's input (256 for MobileViT), not at their own default
        size = args.size or default_input_shape(load_any_config(config))[0]
        for name in [config] + [ref for ref, _ in references_for(config)]:
            if name not in seen:
                seen.add(name)
                names.append((name, size))
    records = []
    for name, size in names:
        command = [sys.executable, osp.abspath(__file__), '--train-worker', name, '--train-batch',
                   str(args.train_batch), '--train-steps', str(args.train_steps), '--threads', str(args.threads),
                   '--clock', args.clock, '--size', str(size)]
        is_lwmm = not name.startswith(('timm:', 'mmpretrain:'))
        record = dict(task='train', config=osp.relpath(name, ROOT) if is_lwmm else None,
                      model=stem_of(name) if is_lwmm else name, role='lwmm' if is_lwmm else 'reference',
                      family=family_of(name) if is_lwmm else None, mode='train', batch=args.train_batch,
                      steps=args.train_steps)
        proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        lines = [line for line in proc.stdout.splitlines() if line.startswith('{')]
        if proc.returncode or not lines:
            record['error'] = (proc.stderr.strip().splitlines() or ['no output'])[-1][:200]
            log(f'  ! train {name}: {record["error"]}')
        else:
            record.update(json.loads(lines[-1]))
            log(f"  train {record['model']:32s}: {record['images_per_s']:7.2f} img/s, "
                f"peak RSS {record['peak_rss_mb']:.0f} MB (+{record['train_memory_mb']:.0f} MB)")
        records.append(record)
    for record in records:  # the family of a reference is the family of the first config using it
        if record['role'] == 'reference':
            record['family'] = next((family_of(c) for c in configs
                                     if record['model'] in [r for r, _ in references_for(c)]), None)
    return records


# ---------------------------------------------------------------------------------------------- profile
def profile_top_ops(model, size, batch, top, threads):
    """torch.profiler's top ``top`` operators by self CPU time for one forward, as a markdown table."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    torch.set_num_threads(threads)
    inputs = torch.randn(batch, 3, *size)
    run = TensorForward(model, inputs)
    with torch.inference_mode():
        run()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                run()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1
    lines = ['| operator | calls / run | self CPU ms / run | share |', '|---|---|---|---|']
    for event in events[:top]:
        lines.append(f'| {event.key} | {event.count // 3} | {event.self_cpu_time_total / 3e3:.2f} | '
                     f'{event.self_cpu_time_total / total * 100:.1f} % |')
    return '\n'.join(lines)


def profile_missed(records, args, log):
    """Profiles of each twin pair whose goal was missed: {(config, batch): (lwmm table, reference table)}."""
    profiles = {}
    for record in records:
        if record.get('goal_met') is False and record['mode'] == 'eager':
            key = (record['config'], record['batch'])
            if key in profiles:
                continue
            log(f"profiling {record['model']} and {record['reference']} at batch {record['batch']}")
            size = tuple(record['input_size'])
            model, _ = build_config_model(osp.join(ROOT, record['config']))
            ours = profile_top_ops(model, size, record['batch'], args.profile_top, args.threads)
            theirs = profile_top_ops(build_reference(record['reference']), size, record['batch'], args.profile_top,
                                     args.threads)
            profiles[key] = (f"{record['model']} (batch {record['batch']})", record['reference'], ours, theirs)
    return profiles


# ----------------------------------------------------------------------------------------------- output
def _ratio(value):
    return '-' if value is None else f'{value:.2f}'


def _mark(record):
    if record is None or 'goal_met' not in record:
        return ''
    return ' ✓' if record['goal_met'] else ' ✗'


def markdown(records, meta, profiles=None):
    """The benchmark's markdown report."""
    lines = [f"# lwmm benchmark, {meta['timestamp']}", '',
             f"CPU: {meta['cpu']} ({meta['logical_cpus']} logical CPUs), load average at start "
             f"{meta['load_start']}, at end {meta.get('load_end', '-')}; torch {meta['torch']} with "
             f"{meta['torch_threads']} intra-op thread(s), onnxruntime {meta['onnxruntime']} "
             f"({meta['threads']} intra-op thread(s)), timm {meta['timm']}; {meta['clock']} clock; median (and "
             f"p90) of {meta['repeats']} runs at batch 1 after {meta['warmup']} warm-up runs, of "
             f"{meta['large_batch_repeats']} runs after {meta['large_batch_warmup']} at larger batches, in "
             'alternation within each group.', '',
             f"Command: `{meta['command']}`", '']
    if meta['clock'] == 'cpu' and meta.get('max_other_threads_cpu_share') is not None:
        lines += [f"CPU clock check: threads other than the timing thread used at most "
                  f"{meta['max_other_threads_cpu_share'] * 100:.1f} % of the process's CPU time while timing.", '']
    cls = [r for r in records if r['task'] == 'cls']
    if cls:
        lines += ['## Classifiers', '',
                  'Latency in ms, median / p90. `eager x` and `fused x`: lwmm latency over the reference\'s eager '
                  f'latency (goals for timm twins: eager <= {GOAL_EAGER:.2f}, fused <= {GOAL_FUSED:.2f}; ✓ met, '
                  '✗ missed); `ORT x`: over the reference\'s ONNX Runtime latency.', '',
                  '| family | model | input | params (M) | MACs (M) | batch | eager | fused | ORT | reference '
                  '| ref eager | ref ORT | eager x | fused x | ORT x |',
                  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
        by_key = {(r['model'], r['mode'], r['batch']): r for r in cls}
        for record in cls:
            if record['role'] != 'lwmm' or record['mode'] != 'eager':
                continue
            model, batch = record['model'], record['batch']
            fused, ort = by_key.get((model, 'fused', batch)), by_key.get((model, 'onnxruntime', batch))
            ref = record.get('reference')
            ref_eager, ref_ort = by_key.get((ref, 'eager', batch)), by_key.get((ref, 'onnxruntime', batch))

            def cell(r):
                if r is None or r.get('latency_ms') is None:
                    return '-' if r is None else 'failed'
                return f"{r['latency_ms']:.2f} / {r['p90_ms']:.2f}"

            ref_label = '-' if not ref else f"{ref} ({record['reference_kind']})"
            lines.append(
                f"| {record['family']} | {model} | {record['input_size'][0]} | {record['params'] / 1e6:.2f} | "
                f"{record['macs'] / 1e6:.0f} | {batch} | {cell(record)} | {cell(fused)} | {cell(ort)} | "
                f"{ref_label} | {cell(ref_eager)} | {cell(ref_ort)} | {_ratio(record.get('ratio'))}{_mark(record)} | "
                f"{_ratio(fused and fused.get('ratio'))}{_mark(fused)} | {_ratio(ort and ort.get('ratio'))} |")
        refs = [r for r in cls if r['role'] == 'reference' and r['mode'] == 'eager']
        if refs:
            lines += ['', 'References: ' + '; '.join(sorted({
                f"{r['model']} ({r['params'] / 1e6:.2f}M params, {r['macs'] / 1e6:.0f}M MACs)" for r in refs})) + '.']
        goals = [r for r in cls if 'goal_met' in r]
        if goals:
            met = sum(r['goal_met'] for r in goals)
            lines += ['', f'Goals met: {met} of {len(goals)} (eager and fused, each batch size, timm twins).']
        failed = sorted({f"{r['model']} {r['mode']}: {r['error']}" for r in cls if r.get('error')})
        if failed:
            lines += ['', 'Not measured:', ''] + [f'- {line}' for line in failed]
    e2e = [r for r in records if r['task'] in ('det', 'seg')]
    if e2e:
        lines += ['', '## Detectors and segmentors (batch 1, tensor mode: raw head outputs)', '',
                  '| task | model | input | params (M) | MACs (G) | mode | latency ms (median / p90) | reference | '
                  'ratio |', '|---|---|---|---|---|---|---|---|---|']
        for r in e2e:
            latency = 'failed' if r['latency_ms'] is None else f"{r['latency_ms']:.1f} / {r['p90_ms']:.1f}"
            lines.append(f"| {r['task']} | {r['model']} | {r['input_size'][0]}x{r['input_size'][1]} | "
                         f"{r['params'] / 1e6:.2f} | {r['macs'] / 1e9:.2f} | {r['mode']} | {latency} | "
                         f"{r.get('reference') or ('(reference)' if r['role'] == 'reference' else '-')} | "
                         f"{_ratio(r.get('ratio'))} |")
    train = [r for r in records if r['task'] == 'train']
    if train:
        lines += ['', f"## Training step (batch {train[0]['batch']}, forward + cross-entropy + backward + SGD, "
                  'random data, one subprocess per model)', '',
                  'Peak RSS: the process\'s peak resident memory during training (VmHWM, reset after building '
                  'the model); train memory: that peak less the resident memory before the first step '
                  '(activations, gradients, optimizer state, allocator caches).', '',
                  '| family | model | input | images/s | step ms | peak RSS (MB) | train memory (MB) |',
                  '|---|---|---|---|---|---|---|']
        for r in train:
            if r.get('error'):
                lines.append(f"| {r['family']} | {r['model']} | - | failed: {r['error']} | | | |")
                continue
            lines.append(f"| {r['family']} | {r['model']} | {r['input_size'][0]} | {r['images_per_s']:.2f} | "
                         f"{r['step_ms']:.0f} | {r['peak_rss_mb']:.0f} | {r['train_memory_mb']:.0f} |")
    for (model, reference, ours, theirs) in (profiles or {}).values():
        lines += ['', f'## Profile: {model} against {reference}', '', f'{model}:', '', ours, '',
                  f'{reference}:', '', theirs]
    return '\n'.join(lines) + '\n'


def plot(records, path):
    """Latency (eager, batch 1 and the largest batch) against MACs per family; references as crosses."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cls = [r for r in records if r['task'] == 'cls' and r['mode'] == 'eager' and r.get('latency_ms')]
    batches = sorted({r['batch'] for r in cls}) or [1]
    batches = sorted({batches[0], batches[-1]})
    fig, axes = plt.subplots(1, len(batches), figsize=(7 * len(batches), 5.5), squeeze=False)
    families = sorted({r['family'] for r in cls})
    colors = {f: plt.get_cmap('tab10')(i % 10) for i, f in enumerate(families)}
    for ax, batch in zip(axes[0], batches):
        for family in families:
            ours = sorted((r for r in cls if r['batch'] == batch and r['family'] == family and r['role'] == 'lwmm'),
                          key=lambda r: r['macs'])
            theirs = [r for r in cls if r['batch'] == batch and r['family'] == family and r['role'] == 'reference']
            if ours:
                ax.plot([r['macs'] / 1e6 for r in ours], [r['latency_ms'] for r in ours], 'o-', color=colors[family],
                        label=f'lwmm {family}')
            for r in theirs:
                ax.plot(r['macs'] / 1e6, r['latency_ms'], 'x', color=colors[family], markersize=9, mew=2)
                ax.annotate(r['model'].split(':')[-1], (r['macs'] / 1e6, r['latency_ms']), fontsize=7,
                            xytext=(4, -8), textcoords='offset points', color=colors[family])
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel('multiply-adds per image (M)')
        ax.set_ylabel(f'latency at batch {batch} (ms, median)')
        ax.set_title(f'eager CPU latency, batch {batch} (x: references)')
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------- main
def select_configs(configs, families):
    """Classifier config paths from --configs (files or folders) and --families (family names or prefixes)."""
    if not configs:
        configs = [osp.join(ROOT, 'configs', 'cls')]
    found = []
    for item in configs:
        if osp.isdir(item):
            found += sorted(p for p in glob.glob(osp.join(item, '*.py')))
        elif osp.isfile(item):
            found.append(item)
        else:
            raise FileNotFoundError(f'--configs: {item!r} is neither a config file nor a folder')
    if families:
        wanted = [f.lower() for f in families]
        known = sorted({f.lower() for _, f in FAMILIES})
        unknown = [f for f in wanted if f not in known]
        if unknown:
            raise ValueError(f'--families {unknown} not known: choose from {known}')
        found = [c for c in found if family_of(c).lower() in wanted]
    if not found:
        raise ValueError(f'--configs {configs} --families {families}: no classifier config selected')
    return [osp.abspath(c) for c in found]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--configs', nargs='+', help='classifier configs or folders (default: configs/cls)')
    parser.add_argument('--families', nargs='+', help='only these families, e.g. ghostnet mobilevit')
    parser.add_argument('--batch-sizes', type=int, nargs='+', help='default: 1 32 (--quick: 1)')
    parser.add_argument('--size', type=int, help='input height and width for all classifiers (default: each '
                        "config's test input, 224 or 256 for MobileViT)")
    parser.add_argument('--threads', type=int, default=1,
                        help='intra-op threads of torch and ONNX Runtime (default 1: one core is what a phone '
                        'gives a model and the mobile papers time, it keeps runs comparable on a shared machine, '
                        'and it allows --clock cpu)')
    parser.add_argument('--clock', choices=['wall', 'cpu'], default='wall',
                        help="'cpu': CPU time of the timing thread, less disturbed by other processes; needs "
                        '--threads 1')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=30, help='timed runs at batch 1')
    parser.add_argument('--large-batch-repeats', type=int, default=6, help='timed runs at batch > 1')
    parser.add_argument('--large-batch-warmup', type=int, default=1, help='warm-up runs at batch > 1')
    parser.add_argument('--modes', nargs='+', choices=MODES, default=list(MODES))
    parser.add_argument('--channels-last', action='store_true', help='NHWC inputs for the PyTorch modes')
    parser.add_argument('--e2e-configs', nargs='*', default=None,
                        help=f'detector / segmentor configs timed end to end (default: {" ".join(DEFAULT_E2E)})')
    parser.add_argument('--e2e-repeats', type=int, default=10)
    parser.add_argument('--no-e2e', action='store_true')
    parser.add_argument('--train-batch', type=int, default=16)
    parser.add_argument('--train-steps', type=int, default=3)
    parser.add_argument('--no-train', action='store_true')
    parser.add_argument('--no-latency', action='store_true', help='skip the classifier latency (e.g. training only)')
    parser.add_argument('--no-profile', action='store_true', help='do not profile the pairs that miss a goal')
    parser.add_argument('--profile-top', type=int, default=8, help='operators listed per profile')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: batch 1, 1 warm-up, 3 repeats, 2 training steps, no e2e, no profiles')
    parser.add_argument('--merge', nargs='+', metavar='JSON',
                        help='measure nothing: merge the results of earlier runs (their JSON files) into one '
                        'report, e.g. families run one after another')
    parser.add_argument('--out-dir', default=DEFAULT_OUT_DIR)
    parser.add_argument('--train-worker', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_sizes = args.batch_sizes or [1]
        args.warmup, args.repeats, args.large_batch_repeats, args.large_batch_warmup = 1, 3, 1, 0
        args.train_steps, args.e2e_repeats, args.no_profile = 2, 2, True
        if args.e2e_configs is None:
            args.no_e2e = True
    args.batch_sizes = args.batch_sizes or [1, 32]
    try:
        from lwmm.analysis.timing import check_clock_threads
        check_clock_threads(args.clock, args.threads)
    except ValueError as err:
        parser.error(str(err))
    return args


def environment(args, argv):
    import timm
    import torch
    try:
        import onnxruntime
        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = 'not installed'
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return dict(
        timestamp=datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d_%H%M%S'), cpu=cpu,
        logical_cpus=os.cpu_count(), load_start=' '.join(f'{x:.2f}' for x in os.getloadavg()),
        torch=torch.__version__, torch_threads=torch.get_num_threads(), onnxruntime=ort_version,
        timm=timm.__version__, python=platform.python_version(), threads=args.threads, clock=args.clock,
        warmup=args.warmup, repeats=args.repeats, large_batch_repeats=args.large_batch_repeats,
        large_batch_warmup=args.large_batch_warmup,
        batch_sizes=args.batch_sizes, modes=args.modes, train_batch=args.train_batch,
        command='python tools/analysis/benchmark.py ' + ' '.join(argv))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    import torch
    threads_before = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        if args.train_worker:
            train_worker(args.train_worker, args.train_batch, args.train_steps, 1, args.threads, args.clock,
                         args.size)
            return None
        return run(args, argv)
    finally:
        torch.set_num_threads(threads_before)  # the caller's setting (tests call main in-process)


def merge_runs(paths):
    """(meta, records) of several runs' JSON files: the first run's meta, every run's command and load."""
    metas, records = [], []
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'--merge: {path!r} does not exist: give the JSON files of earlier runs')
        with open(path) as f:
            payload = json.load(f)
        metas.append(payload['meta'])
        records += payload['results']
    meta = dict(metas[0])
    meta['command'] = '` and `'.join(m['command'] for m in metas)
    meta['load_start'] = ', '.join(m['load_start'] for m in metas)
    meta['load_end'] = ', '.join(m.get('load_end', '-') for m in metas)
    meta['profiles'] = [p for m in metas for p in m.get('profiles', [])]
    shares = [m['max_other_threads_cpu_share'] for m in metas if m.get('max_other_threads_cpu_share') is not None]
    meta['max_other_threads_cpu_share'] = max(shares, default=None)
    meta['merged'] = [osp.basename(p) for p in paths]
    return meta, records


def write_outputs(meta, records, profiles, out_dir, log):
    os.makedirs(out_dir, exist_ok=True)
    stamp = osp.join(out_dir, meta['timestamp'])
    payload = dict(meta=meta, results=records)
    for path in (f'{stamp}.json', osp.join(out_dir, 'latest.json')):
        with open(path, 'w') as f:
            json.dump(payload, f, indent=1)
    report = markdown(records, meta, profiles)
    with open(f'{stamp}.md', 'w') as f:
        f.write(report)
    plot(records, f'{stamp}.png')
    print(report)
    log(f'wrote {stamp}.json, {stamp}.md, {stamp}.png and {osp.join(out_dir, "latest.json")}')
    return payload


def run(args, argv):
    import torch

    import lwmm  # noqa: F401  registers the modules, applies the compat fixes

    def log(message):
        print(message, file=sys.stderr, flush=True)

    if args.merge:
        meta, records = merge_runs(args.merge)
        meta['timestamp'] = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d_%H%M%S')
        profiles = {(p['model'], i): (p['model'], p['reference'], p['lwmm'], p['reference_table'])
                    for i, p in enumerate(meta['profiles'])}
        return write_outputs(meta, records, profiles, args.out_dir, log)
    torch.manual_seed(0)
    configs = select_configs(args.configs, args.families)
    meta = environment(args, argv)
    records = []
    with tempfile.TemporaryDirectory(prefix='lwmm_bench_') as workdir:
        if not args.no_latency:
            records += benchmark_classifiers(configs, args, workdir, log)
        if not args.no_e2e:
            e2e = [osp.join(ROOT, c) for c in (args.e2e_configs or DEFAULT_E2E)]
            records += benchmark_e2e(e2e, args, workdir, log)
    if not args.no_train:
        records += benchmark_training(configs, args, log)
    profiles = {} if args.no_profile else profile_missed(records, args, log)
    meta['load_end'] = ' '.join(f'{x:.2f}' for x in os.getloadavg())
    shares = [r['other_threads_cpu_share'] for r in records if r.get('other_threads_cpu_share') is not None]
    meta['max_other_threads_cpu_share'] = max(shares, default=None)
    meta['profiles'] = [dict(model=m, reference=r, lwmm=a, reference_table=b) for m, r, a, b in profiles.values()]

    return write_outputs(meta, records, profiles, args.out_dir, log)


if __name__ == '__main__':
    main()
