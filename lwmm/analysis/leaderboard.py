"""The Fashion-MNIST leaderboard: each family against the baseline its paper beats, trained and tested
through tools/train.py and tools/test.py, with top-1 over seeds, params, multiply-adds and CPU latency.

The configs are under configs/real/ (one recipe for all, _base_/fashion_mnist_32.py); the budget
(training subset, epochs, test subset) is applied to them as ``--cfg-options`` by :func:`budget_options`,
so a run is the config plus those options and nothing else. Each finished run leaves ``result.json`` in
its work dir and is not run again, so an interrupted leaderboard continues where it stopped.
"""
import json
import math
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

# (family, candidate config, baseline config): the paper's claim is candidate >= baseline in accuracy
# per multiply-add.
PAIRS = (
    ('GhostNet vs MobileNetV3', 'ghostnet-1.0x_fashion-mnist.py', 'mobilenetv3-large_fashion-mnist.py'),
    ('GhostNetV2 vs GhostNet', 'ghostnetv2-1.0x_fashion-mnist.py', 'ghostnet-1.0x_fashion-mnist.py'),
    ('MobileViT vs MobileNetV2', 'mobilevit-xxs_fashion-mnist.py', 'mobilenetv2_fashion-mnist.py'),
    ('OctConv vs plain', 'oct-resnet26-a0.5_fashion-mnist.py', 'oct-resnet26-a0_fashion-mnist.py'),
    ('DynamicConv vs static', 'dy-mobilenetv2-1.0x_fashion-mnist.py', 'mobilenetv2_fashion-mnist.py'),
)
CONFIG_DIR = 'configs/real'
METRIC = 'accuracy/top1'
# The DY-CNN temperature anneals over this share of the run's iterations (see the DY config's comment).
TEMPERATURE_SHARE = 0.1
# The one-cycle schedule's rising quarter (_base_/fashion_mnist_32.py).
WARMUP_SHARE = 0.25


def leaderboard_configs(pairs=PAIRS) -> List[str]:
    """Every config of ``pairs`` once, in order of first appearance."""
    seen = []
    for _, *configs in pairs:
        seen += [c for c in configs if c not in seen]
    return seen


def budget_options(cfg, train_subset: Optional[int], epochs: int, test_subset: Optional[int] = None) -> List[str]:
    """``--cfg-options`` entries that give ``cfg`` (a loaded leaderboard config) this budget: the first
    ``train_subset`` training images (None: all 60,000), ``epochs`` epochs of the one-cycle schedule (warm-up a quarter), the first
    ``test_subset`` test images (None: all 10,000), and the DY temperature annealed over a tenth of the run."""
    if epochs < 1:
        raise ValueError(f'epochs={epochs!r} must be at least 1.')
    for name, value in (('train_subset', train_subset), ('test_subset', test_subset)):
        if value is not None and value < 1:
            raise ValueError(f'{name}={value!r} must be a positive number of images, or None for all.')
    options = [f'train_dataloader.dataset.indices={train_subset if train_subset else None}',
               f'val_dataloader.dataset.indices={test_subset if test_subset else None}',
               f'test_dataloader.dataset.indices={test_subset if test_subset else None}',
               f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
               f'default_hooks.checkpoint.interval={epochs}']
    types = [scheduler['type'] for scheduler in cfg.param_scheduler]
    if types != ['LinearLR', 'CosineAnnealingLR']:
        raise ValueError(f'param_scheduler is {types}; the leaderboard sets the length of the shared one-cycle '
                         "recipe's ['LinearLR', 'CosineAnnealingLR'] (_base_/fashion_mnist_32.py) only.")
    images = train_subset or 60000
    iterations = epochs * math.ceil(images / cfg.train_dataloader.batch_size)
    if iterations < 2:
        raise ValueError(f'train_subset={train_subset}, epochs={epochs}: {iterations} iteration; the one-cycle '
                         'schedule needs at least 2 (a rising and a falling part).')
    # in iterations: epoch fractions are rounded down per scheduler, which can leave a phase empty
    warmup = min(iterations - 1, max(1, round(WARMUP_SHARE * iterations)))
    for index, (begin, end) in enumerate(((0, warmup), (warmup, iterations))):
        options += [f'param_scheduler.{index}.by_epoch=False', f'param_scheduler.{index}.convert_to_iter_based=False',
                    f'param_scheduler.{index}.begin={begin}', f'param_scheduler.{index}.end={end}']
    options.append(f'param_scheduler.1.T_max={iterations - warmup}')
    for index, hook in enumerate(cfg.get('custom_hooks', [])):
        if str(hook['type']).endswith('DynamicConvTemperatureHook'):
            if hook.get('by_epoch', True):
                raise ValueError(f'custom_hooks[{index}]: the leaderboard anneals the temperature by iteration; '
                                 'set by_epoch=False in the config.')
            options.append(f'custom_hooks.{index}.anneal_length={max(1, round(TEMPERATURE_SHARE * iterations))}')
    return options


def _run(command: List[str], log_path: str) -> float:
    """Run ``command`` with its output in ``log_path``; seconds taken. A failure raises with the log's tail."""
    start = time.perf_counter()
    with open(log_path, 'w') as log:
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, OMP_WAIT_POLICY='PASSIVE'))
    if code:
        with open(log_path) as log:
            tail = ''.join(log.readlines()[-20:])
        raise RuntimeError(f'{" ".join(command)} failed with exit code {code} (log: {log_path}):\n{tail}')
    return time.perf_counter() - start


def test_metric(work_dir: str, metric: str = METRIC) -> float:
    """``metric`` of the newest test run in ``work_dir`` (mmengine's <timestamp>/<timestamp>.json)."""
    dumps = sorted((osp.join(work_dir, d, d + '.json') for d in os.listdir(work_dir)
                    if re.fullmatch(r'\d{8}_\d{6}', d) and osp.isfile(osp.join(work_dir, d, d + '.json'))),
                   reverse=True)
    for path in dumps:
        with open(path) as f:
            entry = json.load(f)
        if isinstance(entry, dict) and metric in entry:
            return float(entry[metric])
    raise RuntimeError(f'{work_dir}: no test result with {metric!r} in any <timestamp>/<timestamp>.json')


def train_and_test(config: str, seed: int, work_dir: str, options: Sequence[str], python: str = sys.executable,
                   root: str = '.') -> dict:
    """Train ``config`` with ``seed`` through tools/train.py, test the last checkpoint through tools/test.py.

    Returns the run's record (also written to ``work_dir/result.json``, and read from there instead of
    running when it already exists with the same options)."""
    result_path = osp.join(work_dir, 'result.json')
    options = list(options) + [f'randomness.seed={seed}']
    if osp.isfile(result_path):
        with open(result_path) as f:
            record = json.load(f)
        if record.get('options') == options:
            return record
    os.makedirs(work_dir, exist_ok=True)
    config_path = osp.join(root, CONFIG_DIR, config)
    train_s = _run([python, osp.join(root, 'tools/train.py'), config_path, '--work-dir', work_dir, '--no-validate',
                    '--cfg-options', *options], osp.join(work_dir, 'train.log'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    _run([python, osp.join(root, 'tools/test.py'), config_path, checkpoint, '--work-dir', work_dir,
          '--cfg-options', *options], osp.join(work_dir, 'test.log'))
    record = dict(config=config, seed=seed, top1=test_metric(work_dir), train_s=train_s, options=options)
    with open(result_path, 'w') as f:
        json.dump(record, f, indent=1)
    return record


def complexity_and_latency(configs: Sequence[str], size: int = 32, repeats: int = 30,
                           root: str = '.') -> Dict[str, dict]:
    """{config: params, MACs (lwmm.analysis.config_complexity at ``size`` x ``size``) and the median CPU latency
    of one image (one thread, wall clock, all models timed in alternation)}."""
    import torch
    from mmengine.config import Config

    from .complexity import build_model_from_config, config_complexity
    from .timing import summarize, time_interleaved
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        stats, calls = {}, []
        for config in configs:
            cfg = Config.fromfile(osp.join(root, CONFIG_DIR, config))
            model = build_model_from_config(cfg).eval()
            count = config_complexity(cfg, shape=(size, size), model=model)
            stats[config] = dict(params=count['params'], macs=count['macs'])
            image = torch.zeros(1, 3, size, size)
            calls.append(lambda model=model, image=image: model(image, mode='tensor'))
        for config, seconds in zip(configs, time_interleaved(calls, warmup=3, repeats=repeats)):
            stats[config]['latency_ms'] = summarize(seconds)['median_ms']
    finally:
        torch.set_num_threads(threads)
    return stats


def summarize_runs(records: Sequence[dict], stats: Dict[str, dict]) -> Dict[str, dict]:
    """{config: top-1 mean, std (sample, over seeds; 0 for one seed), seeds, mean train seconds, + stats}."""
    rows = {}
    for config in dict.fromkeys(r['config'] for r in records):
        top1 = [r['top1'] for r in records if r['config'] == config]
        rows[config] = dict(
            top1_mean=statistics.fmean(top1),
            top1_std=statistics.stdev(top1) if len(top1) > 1 else 0.0,
            seeds=len(top1),
            train_s=statistics.fmean(r['train_s'] for r in records if r['config'] == config),
            **stats.get(config, {}))
    return rows


def markdown_table(rows: Dict[str, dict], pairs=PAIRS) -> str:
    """One line per model, grouped by pair, with the verdict on the paper's claim for each pair."""
    lines = ['| pair | model | top-1 % (mean +- std) | seeds | params | MACs (32x32) | CPU latency ms | '
             'train s | paper\'s ordering |', '|---|---|---|---|---|---|---|---|---|']
    for family, candidate, baseline in pairs:
        if candidate not in rows or baseline not in rows:
            continue
        a, b = rows[candidate], rows[baseline]
        gap = a['top1_mean'] - b['top1_mean']
        noise = math.hypot(a['top1_std'], b['top1_std'])
        if a['seeds'] < 2 or b['seeds'] < 2:
            verdict = f'{gap:+.2f} pt (one seed: no error bar)'
        elif gap > noise:
            verdict = f'holds ({gap:+.2f} pt)'
        elif gap < -noise:
            verdict = f'does not hold ({gap:+.2f} pt)'
        else:
            verdict = f'within noise ({gap:+.2f} pt)'
        for config, row in ((candidate, a), (baseline, b)):
            lines.append(
                f'| {family} | {config[:-len("_fashion-mnist.py")]} | {row["top1_mean"]:.2f} +- {row["top1_std"]:.2f} | '
                f'{row["seeds"]} | {row.get("params", float("nan")) / 1e6:.2f}M | '
                f'{row.get("macs", float("nan")) / 1e6:.1f}M | {row.get("latency_ms", float("nan")):.2f} | '
                f'{row["train_s"]:.0f} | {verdict if config == candidate else "baseline"} |')
    return '\n'.join(lines) + '\n'


def plot_accuracy_vs_macs(rows: Dict[str, dict], out: str, title: str, pairs=PAIRS) -> None:
    """Top-1 (error bars: std over seeds) against multiply-adds, each pair joined candidate -> baseline."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for config, row in rows.items():
        ax.errorbar(row['macs'] / 1e6, row['top1_mean'], yerr=row['top1_std'], fmt='o', capsize=3)
        ax.annotate(config[:-len('_fashion-mnist.py')], (row['macs'] / 1e6, row['top1_mean']),
                    textcoords='offset points', xytext=(4, 4), fontsize=7)
    for _, candidate, baseline in pairs:
        if candidate in rows and baseline in rows:
            ax.plot([rows[c]['macs'] / 1e6 for c in (candidate, baseline)],
                    [rows[c]['top1_mean'] for c in (candidate, baseline)], '--', color='grey', lw=0.8)
    ax.set_xscale('log')
    ax.set_xlabel('multiply-adds at 32x32 (M, log scale)')
    ax.set_ylabel('Fashion-MNIST test top-1 (%)')
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
