"""tools/analysis/benchmark_dynamic_conv.py: the per-part breakdown and one tiny run of the layer table."""
import sys
import time

import pytest
import torch

from lwmm.models.backbones.dy_mobilenet import DYMobileNetV2


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis/benchmark_dynamic_conv.py')


def test_breakdown_times_every_dynamic_conv(tool):
    torch.manual_seed(0)
    model = DYMobileNetV2(widen_factor=0.35)
    parts = tool.breakdown(model, torch.randn(1, 3, 32, 32), warmup=1, repeats=2, clock=time.perf_counter)
    assert parts['layers'] == 50 == len(model.dynamic_conv_names)
    assert set(parts) == {'layers', 'static convs', 'dynamic convs', 'attention', 'aggregation',
                          'static convs, 1x1 inputs', 'dynamic convs, 1x1 inputs', 'attention, 1x1 inputs'}
    assert all(parts[name] > 0 for name in parts)
    # the hooks are gone and the model still runs
    assert not any(m._forward_hooks for m in model.modules())
    with pytest.raises(ValueError, match='batch'):
        tool.breakdown(model, torch.randn(2, 3, 32, 32), 1, 1, time.perf_counter)


def test_layer_table_runs(tool, monkeypatch, capsys):
    monkeypatch.setattr(tool, 'LAYERS', [('1x1 conv 8->16 @7', 8, 16, 1, 1, 1, 7)])
    monkeypatch.setattr(sys, 'argv', ['benchmark_dynamic_conv.py', '--no-networks', '--batch-sizes', '1', '2',
                                      '--repeats', '2', '--warmup', '1'])
    tool.main()
    out = capsys.readouterr().out
    assert out.count('| 1x1 conv 8->16 @7 |') == 2 and 'latency / MAC' in out


def test_read_floor_is_the_extra_parameters_at_the_read_bandwidth(tool):
    static = torch.nn.Conv2d(8, 16, 3, bias=False)
    dynamic = tool.DynamicConv2d(8, 16, 3, bias=False, K=4)
    floor = tool.read_floor(static, dynamic, static_ms=2.0, mac_overhead=0.05, repeats=3, clock=time.perf_counter)
    extra = sum(p.numel() for p in dynamic.parameters()) - static.weight.numel()
    assert floor['extra_params'] == extra == 3 * 16 * 8 * 9 + 8 * 2 + 2 + 2 * 4 + 4
    assert floor['bandwidth'] > 0
    assert floor['floor_ms'] == pytest.approx(extra * 4 / floor['bandwidth'] * 1e3)
    assert floor['floor'] == pytest.approx(floor['floor_ms'] / 2.0)
    assert floor['goal'] == pytest.approx(0.1) and floor['goal_ms'] == pytest.approx(0.2)


def test_compiled_network_rows_and_floor_are_printed(tool, monkeypatch, capsys):
    """--compile adds a row for the compiled pair, whose MACs are counted through the wrapped models."""
    import functools

    def tiny_pair():
        return tuple(torch.nn.Sequential(conv(3, 8, 3, stride=8, bias=False), torch.nn.AdaptiveAvgPool2d(1)).eval()
                     for conv in (torch.nn.Conv2d, tool.DynamicConv2d))

    monkeypatch.setattr(tool, 'network_pair', tiny_pair)
    monkeypatch.setattr(torch, 'compile', functools.partial(torch.compile, backend='eager'))
    monkeypatch.setattr(sys, 'argv', ['benchmark_dynamic_conv.py', '--no-layers', '--compile', '--batch-sizes', '1',
                                      '--repeats', '2', '--warmup', '1'])
    tool.main()
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(('| DY-', '| the same'))]
    assert len(rows) == 2 and rows[1].startswith('| the same, torch.compile | 1 |')
    assert rows[0].split('|')[6:8] == rows[1].split('|')[6:8]  # the same MAC counts
    assert 'The floor at batch 1' in out


def test_batch1_forms_agree_and_are_tabled(tool, monkeypatch, capsys):
    """--batch1-forms checks every form against the layer's forward before timing it, and tables them."""
    monkeypatch.setattr(tool, 'LAYERS', [('3x3 conv 8->8 @6', 8, 8, 3, 1, 1, 6)])
    monkeypatch.setattr(tool, 'network_pair', lambda: (None, DYMobileNetV2(widen_factor=0.35).eval()))
    monkeypatch.setattr(sys, 'argv', ['benchmark_dynamic_conv.py', '--no-layers', '--no-networks', '--batch1-forms',
                                      '--repeats', '2', '--warmup', '1'])
    tool.main()
    table = capsys.readouterr().out.split('\nBatch 1, eval')[1]
    rows = [line.split(' | ') for line in table.splitlines() if line.startswith('| ')]
    assert rows[0][1:4] == ['forward ms', 'batched ms', 'per-call kernel ms']
    assert [row[0] for row in rows[1:]] == ['| 3x3 conv 8->8 @6', '| DY-MobileNetV2 x1.0 (classifier)']
    assert all(len(row) == 2 * len(tool.BATCH1_FORMS) for row in rows)
    # a form that computes something else is refused, not timed
    monkeypatch.setitem(tool.BATCH1_FORMS, 'per-call kernel', lambda m, x: tool._local_kernel(m, x) * 1.01)
    with pytest.raises(AssertionError, match='per-call kernel'):
        tool.batch1_forms(1, 1, time.perf_counter)


def test_onnx_forms_time_the_export_forms(tool, monkeypatch, capsys, spread_dynamic_kernels):
    """--onnx exports the network with a dynamic batch once and with a fixed batch per batch size (export_onnx
    checks each against PyTorch) and tables eager, dynamic-batch and fixed-batch times."""
    from torch import nn
    tiny = nn.Sequential(tool.DynamicConv2d(3, 4, 3, stride=8, padding=1), nn.AdaptiveAvgPool2d(1)).eval()
    spread_dynamic_kernels(tiny)  # K distinct kernels: as built they are copies, and the attention would not matter
    monkeypatch.setattr(tool, 'network_pair', lambda: (None, tiny))
    monkeypatch.setattr(sys, 'argv', ['benchmark_dynamic_conv.py', '--no-layers', '--no-networks', '--onnx',
                                      '--batch-sizes', '1', '3', '--repeats', '2', '--warmup', '1'])
    tool.main()
    table = capsys.readouterr().out.split('DY-MobileNetV2 x1.0 (classifier), 224x224')[1]
    rows = [line.split(' | ') for line in table.splitlines() if line.startswith('| ') and line[2].isdigit()]
    assert [row[0] for row in rows] == ['| 1', '| 3']
    for row in rows:
        eager, dynamic, fixed = map(float, row[1:4])
        # the ratio is printed from unrounded times: allow the rounding of the printed ms (3 decimals)
        rounding = 0.0005 / fixed + 0.0005 / dynamic + 0.005
        assert min(eager, dynamic, fixed) > 0
        assert float(row[4].rstrip(' |')) == pytest.approx(dynamic / fixed, rel=rounding)
