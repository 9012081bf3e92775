"""tools/analysis/benchmark_int8.py: the --summarize table and the argument checks (the timing itself runs in
docs/int8.md's commands, not in CI)."""
import json

import pytest


@pytest.fixture(scope='module')
def bench(load_tool):
    return load_tool('tools/analysis/benchmark_int8.py')


def record(batches):
    latency = [dict(label=label, threads=1, batch=b, median_ms=ms * b)
               for b in batches for label, ms in (('fp32', 2.0), ('int8', 1.0))]
    return dict(config='configs/demo/dy-resnet18_shapes.py', checkpoint='x.pth', shape=[96, 96],
                float_nodes={'dynamic_kernel': 3}, int8_vs_float=[dict(relative_rms_diff=0.01)], latency=latency)


def test_summary_puts_each_batch_in_its_column(bench, tmp_path):
    rows = {}
    for name, batches in (('both', [1, 32]), ('one', [1]), ('static32', [32])):
        path = tmp_path / f'{name}.json'
        path.write_text(json.dumps(dict(command='', results=[record(batches)])))
        rows[name] = bench.summary([str(path)]).splitlines()[-1].split(' | ')
    # columns: model, weights, input, threads, fp32 ms b1, int8/fp32 b1, batch N
    assert rows['both'][4:7] == ['2.00', '0.50', 'b32: 64.0, 0.50']
    assert rows['one'][4:7] == ['2.00', '0.50', '-']
    assert rows['static32'][4:7] == ['-', '-', 'b32: 64.0, 0.50']


@pytest.mark.parametrize('argv, message', [
    (['c.py', '--calib', 'd', '--static-batch', '--batches', '1', '32'], 'one batch size'),
    (['c.py', '--calib', 'd', '--static-batch', '--batches', '32', '--evaluate'], 'needs --batches 1'),
])
def test_refuses_static_batch_misuse(bench, argv, message):
    with pytest.raises(SystemExit, match=message):
        bench.main(argv)
