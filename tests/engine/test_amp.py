import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from lwmm.engine.amp import CPUAmpOptimWrapper, enable_amp


def test_cpu_amp_runs_forward_in_bfloat16_and_steps():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(2))
    model(torch.zeros(1, 3, 8, 8))
    wrapper = CPUAmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    before = model[0].weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 3, 8, 8))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert model[0].weight.dtype == torch.float32 and not torch.equal(before, model[0].weight)


def test_enable_amp_picks_the_wrapper_for_the_device():
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    enable_amp(cfg)
    expected = 'AmpOptimWrapper' if torch.cuda.is_available() else 'lwmm.CPUAmpOptimWrapper'
    assert cfg.optim_wrapper.type == expected


def test_enable_amp_refuses_other_wrappers():
    cfg = Config(dict(optim_wrapper=dict(type='ApexOptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    with pytest.raises(ValueError, match='optim_wrapper.type'):
        enable_amp(cfg)


def test_bad_dtype():
    with pytest.raises(ValueError, match='dtype'):
        CPUAmpOptimWrapper(optimizer=torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1), dtype='int8')
