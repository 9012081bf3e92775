"""Training step throughput and memory of lwmm classifiers and their references, one subprocess per model.

Images/s of forward + cross-entropy + backward + SGD step on random data at the classification input size,
and the peak resident memory: ``peak_rss_mb`` is the process's peak resident memory during training (the
kernel's VmHWM, reset once the model is built; ``ru_maxrss`` where that reset is not possible),
``train_memory_mb`` that peak less the resident memory just before the first step (activations, gradients,
optimizer state and allocator caches). A fresh process per model keeps one model's memory out of the next
one's peak. ``python -m lwmm.analysis.benchmark_training NAME ...`` is the worker the parent starts.
"""
import argparse
import json
import subprocess
import sys
from typing import Callable, List, Optional, Sequence

from .config_models import REPO_ROOT, repo_relative
from .references import build_model, family_of, is_reference, references_for, stem_of


def _proc_status_kib(field: str) -> int:
    """A ``kB`` field of /proc/self/status (VmRSS: resident now, VmHWM: peak since the last reset)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise OSError(f'{field} not in /proc/self/status')


def measure_training(name: str, batch: int, steps: int, warmup: int, threads: int, clock: str,
                     size: Optional[int]) -> dict:
    """Train ``name`` (a config or a reference) for ``warmup`` then ``steps`` timed steps in this process."""
    import resource

    import torch

    from .timing import OtherThreadsShare, get_clock
    from .training_speed import TrainStep
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    model, default_size = build_model(name)
    size = (size, size) if size else (default_size or (224, 224))
    step = TrainStep(model, torch.randn(batch, 3, *size), torch.randint(0, 1000, (batch, )))
    tick = get_clock(clock)

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
    with OtherThreadsShare() as share:
        start = tick()
        for _ in range(steps):
            step()
        seconds = tick() - start
    peak = _proc_status_kib('VmHWM') if peak_source == 'VmHWM' else resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss
    return dict(images_per_s=batch * steps / seconds, step_ms=seconds / steps * 1e3, peak_rss_mb=peak / 1024,
                train_memory_mb=(peak - rss_before) / 1024, memory_source=peak_source, input_size=list(size),
                other_threads_cpu_share=share.value)


def benchmark_training(configs: Sequence[str], batch: int, steps: int, threads: int, clock: str,
                       size: Optional[int], log: Callable[[str], None]) -> List[dict]:
    """Training records: each lwmm classifier, then its references, each in a fresh subprocess."""
    from .complexity import default_input_shape
    from .config_models import load_config
    names, seen = [], set()
    for config in configs:
        # references train at their lwmm twin's input (256 for MobileViT), not at their own default
        train_size = size or default_input_shape(load_config(config))[0]
        for name in [config] + [ref for ref, _ in references_for(config)]:
            if name not in seen:
                seen.add(name)
                names.append((name, train_size))
    records = []
    for name, train_size in names:
        command = [sys.executable, '-m', __name__, name, '--batch', str(batch), '--steps', str(steps),
                   '--threads', str(threads), '--clock', clock, '--size', str(train_size)]
        is_lwmm = not is_reference(name)
        record = dict(task='train', config=repo_relative(name) if is_lwmm else None,
                      model=stem_of(name) if is_lwmm else name, role='lwmm' if is_lwmm else 'reference',
                      family=family_of(name) if is_lwmm else None, mode='train', batch=batch, steps=steps)
        proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
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


def _worker(argv=None) -> None:
    """The subprocess: measure one model, print one JSON line."""
    parser = argparse.ArgumentParser(description='one training measurement (started by benchmark_training)')
    parser.add_argument('name', help='config path or reference (timm:<model>, mmpretrain:<key>)')
    parser.add_argument('--batch', type=int, required=True)
    parser.add_argument('--steps', type=int, required=True)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--clock', default='wall')
    parser.add_argument('--size', type=int)
    args = parser.parse_args(argv)
    print(json.dumps(measure_training(args.name, args.batch, args.steps, args.warmup, args.threads, args.clock,
                                      args.size)))


if __name__ == '__main__':
    _worker()
