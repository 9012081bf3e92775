"""The benchmark's report: the run's environment, a markdown table, a latency-against-MACs plot, and the
``{"meta": ..., "results": [records]}`` JSON that tools/analysis/model_zoo.py reads; runs merge into one."""
import datetime
import json
import os
import os.path as osp
import platform
from typing import Dict, List, Sequence, Tuple

from .benchmark_latency import GOAL_EAGER, GOAL_FUSED


def timestamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d_%H%M%S')


def environment(settings: dict, command: str) -> dict:
    """The run's meta: machine, library versions, load at start, ``settings`` (threads, clock, runs...)
    and ``command``."""
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
        timestamp=timestamp(), cpu=cpu, logical_cpus=os.cpu_count(),
        load_start=' '.join(f'{x:.2f}' for x in os.getloadavg()), torch=torch.__version__,
        torch_threads=torch.get_num_threads(), onnxruntime=ort_version, timm=timm.__version__,
        python=platform.python_version(), **settings, command=command)


def finish_meta(meta: dict, records: List[dict], profiles: Dict[tuple, tuple]) -> dict:
    """``meta`` completed at the end of a run: load at end, the largest CPU share of other threads, profiles."""
    meta['load_end'] = ' '.join(f'{x:.2f}' for x in os.getloadavg())
    shares = [r['other_threads_cpu_share'] for r in records if r.get('other_threads_cpu_share') is not None]
    meta['max_other_threads_cpu_share'] = max(shares, default=None)
    meta['profiles'] = [dict(model=m, reference=r, lwmm=a, reference_table=b) for m, r, a, b in profiles.values()]
    return meta


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


def merge_runs(paths: Sequence[str]) -> Tuple[dict, List[dict], Dict[tuple, tuple]]:
    """(meta, records, profiles) of several runs' JSON files: the first run's meta with every run's command,
    load and profiles, and a new timestamp."""
    metas, records = [], []
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'benchmark run {path!r} does not exist: give the JSON files of earlier runs')
        with open(path) as f:
            payload = json.load(f)
        metas.append(payload['meta'])
        records += payload['results']
    meta = dict(metas[0])
    meta['timestamp'] = timestamp()
    meta['command'] = '` and `'.join(m['command'] for m in metas)
    meta['load_start'] = ', '.join(m['load_start'] for m in metas)
    meta['load_end'] = ', '.join(m.get('load_end', '-') for m in metas)
    meta['profiles'] = [p for m in metas for p in m.get('profiles', [])]
    shares = [m['max_other_threads_cpu_share'] for m in metas if m.get('max_other_threads_cpu_share') is not None]
    meta['max_other_threads_cpu_share'] = max(shares, default=None)
    meta['merged'] = [osp.basename(p) for p in paths]
    profiles = {(p['model'], i): (p['model'], p['reference'], p['lwmm'], p['reference_table'])
                for i, p in enumerate(meta['profiles'])}
    return meta, records, profiles


def write_outputs(meta: dict, records: List[dict], profiles: Dict[tuple, tuple], out_dir: str):
    """Write ``<timestamp>.json``, ``latest.json``, ``<timestamp>.md`` and ``<timestamp>.png`` under ``out_dir``.

    Returns:
        (payload written as JSON, markdown report, paths written).
    """
    os.makedirs(out_dir, exist_ok=True)
    stamp = osp.join(out_dir, meta['timestamp'])
    payload = dict(meta=meta, results=records)
    paths = [f'{stamp}.json', osp.join(out_dir, 'latest.json'), f'{stamp}.md', f'{stamp}.png']
    for path in paths[:2]:
        with open(path, 'w') as f:
            json.dump(payload, f, indent=1)
    report = markdown(records, meta, profiles)
    with open(paths[2], 'w') as f:
        f.write(report)
    plot(records, paths[3])
    return payload, report, paths
