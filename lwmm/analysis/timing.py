"""Latency measurement shared by the benchmark tools: clocks, interleaved timing and summaries.

Models compared with each other are timed in alternation (one run of each, in turn, ``repeats`` times),
so a change of load on a shared machine hits all of them alike instead of whichever ran at that moment.
The ``'cpu'`` clock is the CPU time of the calling thread (``time.thread_time``): on a loaded machine it
leaves out the time the thread waited for a core, which the wall clock counts. It only measures the whole
work when all of it runs on the calling thread, i.e. with one intra-op thread (PyTorch and ONNX Runtime
both run single-threaded work on the caller); :class:`OtherThreadsShare` measures how far that holds.
"""
import math
import statistics
import time
from typing import Any, Callable, Dict, List, Sequence

import torch

CLOCKS = {'wall': time.perf_counter, 'cpu': time.thread_time}


def get_clock(name: str) -> Callable[[], float]:
    """The clock function named ``name`` ('wall' or 'cpu'), in seconds."""
    if name not in CLOCKS:
        raise ValueError(f'clock={name!r} is not known: use one of {sorted(CLOCKS)}')
    return CLOCKS[name]


def check_clock_threads(clock: str, threads: int) -> None:
    """The CPU clock of one thread misses the work of other threads: refuse it with more than one."""
    if clock == 'cpu' and threads != 1:
        raise ValueError(f"clock='cpu' measures the calling thread only, but threads={threads}: use threads=1 "
                         "or clock='wall'")


def time_once(fn: Callable[[], Any], clock: Callable[[], float]) -> float:
    """Seconds ``fn()`` takes by ``clock``, without autograd."""
    with torch.inference_mode():
        start = clock()
        fn()
        return clock() - start


def time_interleaved(fns: Sequence[Callable[[], Any]],
                     warmup: int,
                     repeats: int,
                     clock: Callable[[], float] = time.perf_counter) -> List[List[float]]:
    """Time each of ``fns`` ``repeats`` times, in alternation, after ``warmup`` runs of each.

    Returns:
        One list of ``repeats`` durations in seconds per function, in the order given.
    """
    if repeats < 1:
        raise ValueError(f'repeats={repeats} must be at least 1')
    for _ in range(warmup):
        for fn in fns:
            time_once(fn, clock)
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for index, fn in enumerate(fns):
            samples[index].append(time_once(fn, clock))
    return samples


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated between closest ranks."""
    if not values:
        raise ValueError('percentile of no values')
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(seconds: Sequence[float]) -> Dict[str, float]:
    """Median, 90th percentile, mean and minimum of durations in seconds, in milliseconds."""
    return dict(
        median_ms=statistics.median(seconds) * 1e3,
        p90_ms=percentile(seconds, 90) * 1e3,
        mean_ms=statistics.fmean(seconds) * 1e3,
        min_ms=min(seconds) * 1e3,
        repeats=len(seconds))


class OtherThreadsShare:
    """``with OtherThreadsShare() as share: ...``: ``share.value`` is the fraction of this process's CPU
    time, while the block ran, spent on threads other than the calling one (what the ``'cpu'`` clock misses).
    """

    def __enter__(self) -> 'OtherThreadsShare':
        self.value = None
        self._process, self._thread = time.process_time(), time.thread_time()
        return self

    def __exit__(self, *exc_info) -> None:
        process = time.process_time() - self._process
        self.value = max(0.0, process - (time.thread_time() - self._thread)) / max(process, 1e-9)
