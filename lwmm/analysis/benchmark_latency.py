"""CPU latency of lwmm models next to their references (lwmm.analysis.references), in three modes:

- ``eager``: the model as built, in eval mode, in ``mode='tensor'`` (raw outputs, no post-processing);
- ``fused``: after ``lwmm.deploy.switch_to_deploy`` (BatchNorm folded into the convolutions);
- ``onnxruntime``: the fused model exported with ``lwmm.deploy.export_onnx`` and run by an ONNX Runtime
  session with the same number of intra-op threads.

Models that share a reference are timed together and in alternation (lwmm.analysis.timing), so a change of
load on a shared machine hits all of them alike. For timm twins the goals of issue #6 apply: lwmm eager /
timm eager <= 1.00 and lwmm fused / timm eager <= 0.85. Tools/analysis/benchmark.py is the command line.
"""
import copy
import dataclasses
import functools
import os.path as osp
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .config_models import REPO_ROOT, repo_relative
from .references import build_model, build_reference, classifier_groups, e2e_reference_for, family_of, stem_of

MODES = ('eager', 'fused', 'onnxruntime')
#: Issue #6: lwmm eager at most timm eager, lwmm fused at most 0.85 x timm eager.
GOAL_EAGER, GOAL_FUSED = 1.00, 0.85

Log = Callable[[str], None]


@dataclasses.dataclass
class TimingPlan:
    """How a benchmark times: modes, threads, clock, runs per batch size and the input layout."""
    modes: Sequence[str] = MODES
    threads: int = 1
    clock: str = 'wall'
    warmup: int = 3
    repeats: int = 30
    large_batch_warmup: int = 1
    large_batch_repeats: int = 6
    e2e_repeats: int = 10
    channels_last: bool = False
    size: Optional[int] = None  # one square input for every classifier; None: each config's test input
    profile_top: int = 8

    def runs(self, batch: int) -> Tuple[int, int]:
        """(warm-up runs, timed runs) at ``batch``."""
        return (self.warmup, self.repeats) if batch == 1 else (self.large_batch_warmup, self.large_batch_repeats)


def fuse(model):
    """A copy of ``model`` in its deploy form (BatchNorm folded)."""
    from lwmm.deploy import switch_to_deploy
    return switch_to_deploy(copy.deepcopy(model))


def onnx_session(model, inputs, threads: int, workdir: str, name: str):
    """An ONNX Runtime session of ``model`` with ``threads`` intra-op threads.

    The model is exported on one sample of ``inputs``; the graph's batch axis is dynamic.
    """
    import onnxruntime as ort

    from lwmm.deploy import export_onnx
    from lwmm.deploy.tasks import tensor_mode
    path = osp.join(workdir, re.sub(r'[^\w.-]', '_', name) + '.onnx')
    export_onnx(tensor_mode(model).eval(), inputs[:1].contiguous(), path, dynamic_batch=True, check=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning worker threads steal the shared cores from the other processes (and from the timed one).
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def params_and_macs(model, size) -> Tuple[Optional[int], Optional[int]]:
    """Params and multiply-adds of ``model``'s tensor mode on one ``size`` image (None, None if not a module)."""
    import torch

    from lwmm.deploy.tasks import tensor_mode

    from .complexity import count_complexity
    if not isinstance(model, torch.nn.Module):
        return None, None
    result = count_complexity(tensor_mode(model), (1, 3, *size))
    return result['params'], result['macs']


def _runner(entry: dict, mode: str, inputs, plan: TimingPlan, workdir: str):
    from lwmm.deploy.tasks import tensor_mode
    if mode == 'eager':
        return functools.partial(tensor_mode(entry['model']), inputs)
    if mode == 'fused':
        if 'fused' not in entry:
            entry['fused'] = fuse(entry['model'])
        return functools.partial(tensor_mode(entry['fused']), inputs)
    # the deploy form of lwmm models, the model as built for references; exported once
    if 'onnx_session' not in entry:
        entry['onnx_session'] = onnx_session(entry.get('fused', entry['model']), inputs, plan.threads, workdir,
                                             entry['name'])
    session = entry['onnx_session']
    return functools.partial(session.run, None, {session.get_inputs()[0].name: inputs.contiguous().numpy()})


def time_group(entries: List[dict], batch: int, plan: TimingPlan, workdir: str, log: Log):
    """Time the modes of each entry in alternation at one batch size.

    Args:
        entries: [dict(name, model, size, modes)]; all entries share ``size``.

    Returns:
        {(name, mode): summary} (see lwmm.analysis.timing.summarize, plus ``other_threads_cpu_share``) and
        {(name, mode): error message}.
    """
    import torch

    from .timing import OtherThreadsShare, get_clock, summarize, time_interleaved
    inputs = torch.randn(batch, 3, *entries[0]['size'])
    if plan.channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    runners, keys, errors = [], [], {}
    for entry in entries:
        for mode in entry['modes']:
            try:
                runner = _runner(entry, mode, inputs, plan, workdir)
                runner()  # fail here, not inside the timing loop
            except Exception as err:  # a mode that cannot run is reported, not fatal
                errors[(entry['name'], mode)] = f'{type(err).__name__}: {err}'.splitlines()[0][:200]
                log(f'  ! {entry["name"]} {mode}: {errors[(entry["name"], mode)]}')
                continue
            runners.append(runner)
            keys.append((entry['name'], mode))
    warmup, repeats = plan.runs(batch)
    with OtherThreadsShare() as share:
        samples = time_interleaved(runners, warmup, repeats, get_clock(plan.clock))
    results = {}
    for key, times in zip(keys, samples):
        results[key] = summarize(times)
        results[key]['other_threads_cpu_share'] = share.value
    return results, errors


def add_ratios(records: List[dict], refs) -> None:
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


def benchmark_classifiers(configs: Sequence[str], batch_sizes: Sequence[int], plan: TimingPlan, workdir: str,
                          log: Log) -> List[dict]:
    """Latency records of the lwmm classifiers and their references."""
    records = []
    for group_configs, refs in classifier_groups(configs):
        log(f'group: {", ".join(stem_of(c) for c in group_configs)} | references: '
            f'{", ".join(r for r, _ in refs) or "none"}')
        entries = []
        for config in group_configs:
            model, size = build_model(config)
            size = (plan.size, plan.size) if plan.size else size
            params, macs = params_and_macs(model, size)
            entries.append(dict(name=config, model=model, size=size, modes=list(plan.modes), params=params,
                                macs=macs, role='lwmm', implementation='lwmm'))
        size = entries[0]['size']
        for ref, kind in refs:
            model = build_reference(ref)
            params, macs = params_and_macs(model, size)
            entries.append(dict(name=ref, model=model, size=size, params=params, macs=macs, role='reference',
                                kind=kind, implementation=ref.split(':')[0],
                                modes=[m for m in plan.modes if m != 'fused']))
        for batch in batch_sizes:
            results, errors = time_group(entries, batch, plan, workdir, log)
            group_records = []
            for entry in entries:
                is_lwmm = entry['role'] == 'lwmm'
                for mode in entry['modes']:
                    record = dict(
                        task='cls', config=repo_relative(entry['name']) if is_lwmm else None,
                        model=stem_of(entry['name']) if is_lwmm else entry['name'],
                        family=family_of(entry['name'] if is_lwmm else group_configs[0]), role=entry['role'],
                        implementation=entry['implementation'], mode=mode, batch=batch,
                        input_size=list(entry['size']), params=entry['params'], macs=entry['macs'])
                    if (entry['name'], mode) in results:
                        summary = results[(entry['name'], mode)]
                        record.update(latency_ms=summary['median_ms'], p90_ms=summary['p90_ms'],
                                      repeats=summary['repeats'],
                                      other_threads_cpu_share=summary['other_threads_cpu_share'])
                    else:
                        record.update(latency_ms=None, error=errors.get((entry['name'], mode), 'not run'))
                    if not is_lwmm:
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


def benchmark_e2e(configs: Sequence[str], plan: TimingPlan, workdir: str, log: Log) -> List[dict]:
    """Latency records of detectors / segmentors and their mmdet / mmseg references, batch 1, eager and fused."""
    records = []
    reference_cache = {}
    e2e_plan = dataclasses.replace(plan, repeats=plan.e2e_repeats, warmup=min(plan.warmup, 2))
    for config in configs:
        reference = e2e_reference_for(config)
        model, size = build_model(config)
        params, macs = params_and_macs(model, size)
        task = 'det' if stem_of(config).startswith(('ssdlite', 'retinanet')) else 'seg'
        entries = [dict(name=config, model=model, size=size, modes=[m for m in plan.modes if m != 'onnxruntime'],
                        params=params, macs=macs, role='lwmm', implementation='lwmm')]
        if reference:
            ref_model, _ = build_model(reference)
            if reference not in reference_cache:
                reference_cache[reference] = params_and_macs(ref_model, size)
            ref_params, ref_macs = reference_cache[reference]
            entries.append(dict(name=reference, model=ref_model, size=size, modes=['eager'], params=ref_params,
                                macs=ref_macs, role='reference', implementation=reference.split('::')[0]))
        log(f'e2e: {stem_of(config)} vs {reference}')
        results, errors = time_group(entries, 1, e2e_plan, workdir, log)
        group = []
        for entry in entries:
            for mode in entry['modes']:
                summary = results.get((entry['name'], mode))
                record = dict(task=task, config=repo_relative(config) if entry['role'] == 'lwmm' else None,
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


def profile_top_ops(model, size, batch: int, top: int, threads: int) -> str:
    """torch.profiler's top ``top`` operators by self CPU time for one forward, as a markdown table."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from lwmm.deploy.tasks import tensor_mode
    torch.set_num_threads(threads)
    inputs = torch.randn(batch, 3, *size)
    run = functools.partial(tensor_mode(model), inputs)
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


def profile_missed(records: List[dict], plan: TimingPlan, log: Log) -> Dict[tuple, tuple]:
    """Profiles of each twin pair whose eager goal was missed:
    {(config, batch): (title, reference, lwmm table, reference table)}."""
    profiles = {}
    for record in records:
        if record.get('goal_met') is False and record['mode'] == 'eager':
            key = (record['config'], record['batch'])
            if key in profiles:
                continue
            log(f"profiling {record['model']} and {record['reference']} at batch {record['batch']}")
            size = tuple(record['input_size'])
            model, _ = build_model(osp.join(REPO_ROOT, record['config']))
            ours = profile_top_ops(model, size, record['batch'], plan.profile_top, plan.threads)
            theirs = profile_top_ops(build_reference(record['reference']), size, record['batch'], plan.profile_top,
                                     plan.threads)
            profiles[key] = (f"{record['model']} (batch {record['batch']})", record['reference'], ours, theirs)
    return profiles
