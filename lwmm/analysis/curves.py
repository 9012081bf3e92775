"""Training curves from mmengine's scalar logs (``tools/analysis/plot_curves.py``).

mmengine's ``LocalVisBackend`` writes ``<work_dir>/<timestamp>/vis_data/scalars.json``: one JSON object per
line, training lines with ``iter``/``step`` and ``epoch``, validation lines with the metrics and ``step``
(the epoch for epoch-based loops, the iteration for iteration-based ones).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np


def find_scalars(path: str) -> str:
    """The scalars file of ``path``: the file itself, or the latest run under a work dir that has one."""
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path!r} is neither a scalars.json file nor a work dir.')
    runs = sorted(name for name in os.listdir(path)
                  if osp.isfile(osp.join(path, name, 'vis_data', 'scalars.json')))
    if not runs:
        raise FileNotFoundError(f'work dir {path!r} has no <timestamp>/vis_data/scalars.json; train with '
                                "mmengine's LocalVisBackend (the default visualizer) or pass the file.")
    return osp.join(path, runs[-1], 'vis_data', 'scalars.json')


def read_scalars(path: str) -> List[dict]:
    """Every JSON line of a scalars file."""
    entries = []
    with open(path) as file:
        for number, line in enumerate(file, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f'{path}:{number} is not JSON ({error}); pass mmengine\'s scalars.json.') from None
    return entries


def _matches(entry_key: str, key: str) -> bool:
    # metrics are logged with their evaluator prefix ("coco/bbox_mAP"); the bare name is enough
    return entry_key == key or entry_key.endswith('/' + key)


def available_keys(entries: Sequence[dict]) -> List[str]:
    axes = {'iter', 'epoch', 'step'}
    return sorted({key for entry in entries for key, value in entry.items()
                   if key not in axes and isinstance(value, (int, float))})


def series(entries: Sequence[dict], key: str, x: str = 'iter', iters_per_epoch: Optional[float] = None):
    """``(xs, ys)`` of ``key``. ``x='iter'``: training lines by ``iter``, validation lines (no ``iter``)
    by ``step`` times ``iters_per_epoch`` when the loop is epoch-based. ``x='epoch'``: training lines at
    ``iter / iters_per_epoch``, validation lines at ``step``."""
    xs, ys = [], []
    for entry in entries:
        names = [name for name in entry if _matches(name, key)]
        if not names:
            continue
        value = entry[names[0]]
        is_train = 'iter' in entry
        if x == 'iter':
            if is_train:
                position = entry['iter']
            elif iters_per_epoch:
                position = entry.get('step', 0) * iters_per_epoch
            else:
                position = entry.get('step', 0)
        else:
            if is_train:
                position = entry['iter'] / iters_per_epoch if iters_per_epoch else entry.get('epoch', 0)
            else:
                position = entry.get('step', entry.get('epoch', 0))
        xs.append(position)
        ys.append(value)
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def iterations_per_epoch(entries: Sequence[dict]) -> Optional[float]:
    """Iterations per epoch of an epoch-based run (from the last training line with both counters)."""
    train = [e for e in entries if 'iter' in e and 'epoch' in e]
    if not train:
        return None
    by_epoch: Dict[int, int] = {}
    for entry in train:
        by_epoch[entry['epoch']] = max(by_epoch.get(entry['epoch'], 0), entry['iter'])
    complete = sorted(by_epoch)[:-1]  # the last epoch may be cut short
    if complete:
        return by_epoch[complete[-1]] / complete[-1]
    return None


def plot_curves(paths: Sequence[str], keys: Sequence[str], out: str, x: str = 'iter',
                labels: Optional[Sequence[str]] = None, dpi: int = 80, panel=(6.0, 2.5)) -> dict:
    """One panel per key (stacked), one line per run, with a legend; returns the plotted series.

    Args:
        paths: Work dirs (latest run with scalars) or scalars.json files.
        keys: Scalar names (``loss``, ``lr``, ``bbox_mAP``, ``accuracy/top1``...); a metric's evaluator
            prefix may be left out.
        x: ``'iter'`` or ``'epoch'``.
        labels: Legend names (default: the work dir names).
    """
    if x not in ('iter', 'epoch'):
        raise ValueError(f"x={x!r} is not supported; use 'iter' or 'epoch'.")
    if not keys:
        raise ValueError('keys: name at least one scalar to plot (e.g. loss).')
    if labels is not None and len(labels) != len(paths):
        raise ValueError(f'labels: {len(labels)} given for {len(paths)} runs; give one per run or none.')
    runs = []
    for index, path in enumerate(paths):
        scalars = find_scalars(path)
        entries = read_scalars(scalars)
        if labels is not None:
            label = labels[index]
        else:
            label = osp.basename(osp.normpath(path)) if osp.isdir(path) else \
                osp.basename(osp.dirname(osp.dirname(osp.dirname(osp.abspath(path)))))
        runs.append((label, scalars, entries))
    for key in keys:
        if not any(any(_matches(name, key) for entry in entries for name in entry) for _, _, entries in runs):
            available = sorted(set().union(*(available_keys(entries) for _, _, entries in runs)))
            raise ValueError(f'key {key!r} is in none of the runs ({", ".join(s for _, s, _ in runs)}); '
                             f'available keys: {", ".join(available)}.')
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(keys), 1, figsize=(panel[0], panel[1] * len(keys)), dpi=dpi, squeeze=False,
                             layout='constrained')
    plotted = {}
    for row, key in enumerate(keys):
        ax = axes[row, 0]
        for label, scalars, entries in runs:
            xs, ys = series(entries, key, x, iterations_per_epoch(entries))
            if len(xs) == 0:
                continue
            # markers where points are few (validation metrics), so a single point still shows
            ax.plot(xs, ys, linestyle='-', marker='o' if len(xs) < 20 else None, markersize=3, label=label)
            plotted[(label, key)] = (xs, ys)
        ax.set_ylabel(key, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel(x)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return dict(series=plotted, runs=[(label, scalars) for label, scalars, _ in runs], out=out)
