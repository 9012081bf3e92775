"""lwmm.analysis.timing: clocks, interleaved timing, percentiles, the CPU share of other threads."""
import itertools
import threading
import time

import pytest

from lwmm.analysis.timing import (OtherThreadsShare, check_clock_threads, get_clock, percentile, summarize,
                                  time_interleaved)


def test_time_interleaved_alternates_after_warmup():
    calls = []
    ticks = itertools.count()  # each clock read advances by 1 s: every call lasts exactly 1 s
    samples = time_interleaved([lambda: calls.append('a'), lambda: calls.append('b')], warmup=2, repeats=3,
                               clock=lambda: float(next(ticks)))
    assert calls == ['a', 'b'] * 5
    assert samples == [[1.0] * 3, [1.0] * 3]


def test_time_interleaved_rejects_no_repeats():
    with pytest.raises(ValueError, match='repeats=0'):
        time_interleaved([lambda: None], warmup=0, repeats=0)


def test_percentile_and_summary():
    values = [0.004, 0.001, 0.003, 0.002, 0.010]
    assert percentile(values, 50) == 0.003
    assert percentile(values, 0) == 0.001 and percentile(values, 100) == 0.010
    assert percentile(values, 90) == pytest.approx(0.004 + 0.6 * 0.006)  # rank 3.6 between 4 ms and 10 ms
    summary = summarize(values)
    assert summary['median_ms'] == pytest.approx(3.0)
    assert summary['p90_ms'] == pytest.approx(7.6)
    assert summary['min_ms'] == pytest.approx(1.0) and summary['repeats'] == 5


def test_clock_errors():
    assert get_clock('wall')() <= get_clock('wall')()
    with pytest.raises(ValueError, match="clock='gpu'"):
        get_clock('gpu')
    with pytest.raises(ValueError, match='threads=2'):
        check_clock_threads('cpu', 2)
    check_clock_threads('cpu', 1)
    check_clock_threads('wall', 4)


def _spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_other_threads_share():
    """The CPU time of other threads shows in the share; the calling thread's own work does not."""
    with OtherThreadsShare() as alone:
        _spin(0.1)
    with OtherThreadsShare() as helped:
        worker = threading.Thread(target=_spin, args=(0.2, ))
        worker.start()
        _spin(0.05)
        worker.join()
    assert alone.value < 0.2
    assert helped.value > 0.5
