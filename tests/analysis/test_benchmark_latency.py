"""lwmm.analysis.benchmark_latency: ratios and goals, and timing plain and OpenMMLab models in alternation."""
import pytest
import torch.nn as nn
from mmengine.model import BaseModel

from lwmm.analysis.benchmark_latency import TimingPlan, add_ratios, time_group


def test_add_ratios_and_goals():
    def record(model, role, mode, latency, batch=1):
        return dict(model=model, role=role, mode=mode, batch=batch, latency_ms=latency)

    records = [record('ours', 'lwmm', 'eager', 9.0), record('ours', 'lwmm', 'fused', 8.8),
               record('ours', 'lwmm', 'onnxruntime', 3.0), record('timm:x', 'reference', 'eager', 10.0),
               record('timm:x', 'reference', 'onnxruntime', 4.0)]
    add_ratios(records, [('timm:x', 'twin')])
    eager, fused, ort = records[:3]
    assert eager['ratio'] == pytest.approx(0.9) and eager['goal_met'] and eager['goal'] == 1.0
    assert fused['ratio'] == pytest.approx(0.88) and not fused['goal_met']  # goal: 0.85 of timm's eager
    assert ort['ratio'] == pytest.approx(0.75) and 'goal' not in ort  # against timm's ONNX Runtime
    assert 'ratio' not in records[3]


def test_baselines_have_ratios_but_no_goals():
    records = [dict(model='ours', role='lwmm', mode='eager', batch=1, latency_ms=6.0),
               dict(model='mmpretrain:a', role='reference', mode='eager', batch=1, latency_ms=3.0),
               dict(model='timm:b', role='reference', mode='eager', batch=1, latency_ms=2.0)]
    add_ratios(records, [('mmpretrain:a', 'baseline'), ('timm:b', 'baseline')])
    assert records[0]['ratio'] == 2.0 and records[0]['ratios'] == {'mmpretrain:a': 2.0, 'timm:b': 3.0}
    assert 'goal' not in records[0] and records[0]['reference'] == 'mmpretrain:a'


class _TensorOnly(BaseModel):
    """An OpenMMLab model that refuses any call but ``mode='tensor'``."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, inputs, data_samples=None, mode='predict'):
        assert mode == 'tensor', mode
        return self.conv(inputs)


def test_time_group_runs_openmmlab_models_in_tensor_mode():
    entries = [dict(name='openmmlab', model=_TensorOnly().eval(), size=(8, 8), modes=['eager', 'fused']),
               dict(name='plain', model=nn.Conv2d(3, 4, 3).eval(), size=(8, 8), modes=['eager']),
               dict(name='broken', model=nn.Conv2d(5, 4, 3).eval(), size=(8, 8), modes=['eager'])]
    plan = TimingPlan(warmup=1, repeats=2)
    results, errors = time_group(entries, 2, plan, workdir='', log=lambda message: None)
    assert set(results) == {('openmmlab', 'eager'), ('openmmlab', 'fused'), ('plain', 'eager')}
    for summary in results.values():
        assert summary['repeats'] == plan.large_batch_repeats and summary['median_ms'] > 0
        assert 0 <= summary['other_threads_cpu_share'] <= 1
    assert list(errors) == [('broken', 'eager')] and errors[('broken', 'eager')].startswith('RuntimeError')


def test_timing_plan_runs():
    plan = TimingPlan(warmup=3, repeats=30, large_batch_warmup=1, large_batch_repeats=6)
    assert plan.runs(1) == (3, 30) and plan.runs(32) == (1, 6)
