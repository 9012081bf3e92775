"""tools/analysis/benchmark_dynamic_conv.py: the per-part breakdown and one tiny run of the layer table."""
import importlib.util
import os.path as osp
import sys
import time

import pytest
import torch

from lwmm.models.backbones.dy_mobilenet import DYMobileNetV2

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location(
        'benchmark_dynamic_conv', osp.join(ROOT, 'tools', 'analysis', 'benchmark_dynamic_conv.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
