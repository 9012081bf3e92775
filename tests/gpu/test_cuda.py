"""What no CPU test covers, on one CUDA GPU (run by tools/gpu_check.sh where a GPU is lent).

Skipped without CUDA. Each test compares the GPU against the CPU or against a run that was not
interrupted, so it fails when the CUDA path differs, not only when it crashes.
"""
import copy
import os
import socket

import pytest
import torch
import torch.nn as nn

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device (tools/gpu_check.sh)')

BACKBONES = {
    'GhostNet': dict(type='lwmm.GhostNet', widen_factor=1.0),
    'GhostNetV2': dict(type='lwmm.GhostNetV2', widen_factor=1.0),
    'MobileViT': dict(type='lwmm.MobileViT', arch='xx_small'),
    'OctResNet': dict(type='lwmm.OctResNet', depth=50, alpha=0.5),
    'OctMobileNetV2': dict(type='lwmm.OctMobileNetV2'),
    'DYMobileNetV2': dict(type='lwmm.DYMobileNetV2', widen_factor=1.0),
    'DYMobileNetV3': dict(type='lwmm.DYMobileNetV3', arch='small'),
    'DYResNet': dict(type='lwmm.DYResNet', depth=18),
}


def build(cfg):
    from lwmm.registry import MODELS
    return MODELS.build(copy.deepcopy(cfg))


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_backbone_on_cuda_equals_cpu(spread_dynamic_kernels, name):
    torch.manual_seed(0)
    # K distinct kernels in the DY networks: as built they are copies, and the attention would not matter
    model = spread_dynamic_kernels(build(BACKBONES[name])).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected = model(x)
        actual = model.cuda()(x.cuda())
    for e, a in zip(expected, actual):
        torch.testing.assert_close(a.cpu(), e, rtol=1e-3, atol=1e-3)


def test_dynamic_and_octave_layers_forward_and_backward_on_cuda_equal_cpu(spread_dynamic_kernels):
    from lwmm.models.layers.dynamic_conv import DynamicConv2d
    from lwmm.models.layers.octave_conv import OctaveConv2d
    torch.manual_seed(0)
    # K distinct kernels: as built they are copies, and the attention (and its gradients) would not matter
    cases = [(spread_dynamic_kernels(DynamicConv2d(32, 64, 3, padding=1, groups=2)), torch.randn(3, 32, 17, 15)),
             (spread_dynamic_kernels(DynamicConv2d(32, 32, 3, padding=1, groups=32)), torch.randn(1, 32, 9, 9)),
             (OctaveConv2d(32, 64, 3, alpha_in=0.5, alpha_out=0.5, stride=2),
              (torch.randn(2, 16, 17, 15), torch.randn(2, 16, 9, 8)))]
    for layer, x in cases:
        layer.train()
        inputs = [t.requires_grad_() for t in (x if isinstance(x, tuple) else (x, ))]
        out = layer(*inputs) if len(inputs) == 1 else layer(tuple(inputs))
        loss = sum(o.square().mean() for o in (out if isinstance(out, tuple) else (out, )) if o is not None)
        loss.backward()
        cpu_grads = [p.grad.clone() for p in layer.parameters()]
        layer.zero_grad()
        gpu = layer.cuda()
        gpu_inputs = [t.detach().cuda().requires_grad_() for t in inputs]
        gpu_out = gpu(*gpu_inputs) if len(gpu_inputs) == 1 else gpu(tuple(gpu_inputs))
        gpu_loss = sum(o.square().mean() for o in (gpu_out if isinstance(gpu_out, tuple) else (gpu_out, ))
                       if o is not None)
        gpu_loss.backward()
        torch.testing.assert_close(gpu_loss.cpu(), loss.detach(), rtol=1e-4, atol=1e-5)
        for cpu_grad, p in zip(cpu_grads, gpu.parameters()):
            torch.testing.assert_close(p.grad.cpu(), cpu_grad, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_float16_amp_step_is_finite_and_moves_the_weights(name):
    from mmengine.optim import AmpOptimWrapper
    torch.manual_seed(0)
    model = nn.Sequential()
    model.backbone = build(BACKBONES[name]).cuda().train()
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.01), dtype='float16')
    before = [p.detach().clone() for p in model.parameters()]
    with wrapper.optim_context(model):
        loss = sum(o.float().square().mean() for o in model.backbone(torch.randn(2, 3, 224, 224).cuda()))
    assert torch.isfinite(loss)
    wrapper.update_params(loss)
    moved = sum(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters()))
    assert moved > 0 and all(torch.isfinite(p).all() for p in model.parameters())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_one_gpu_nccl_ddp_step_with_sync_batchnorm_equals_plain_step():
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ['MASTER_PORT'] = str(_free_port())
    dist.init_process_group('nccl', rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        plain = build(BACKBONES['GhostNetV2']).cuda().train()
        synced = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(plain))
        assert any(isinstance(m, nn.SyncBatchNorm) for m in synced.modules())
        ddp = MMDistributedDataParallel(synced, device_ids=[0])
        x = torch.randn(4, 3, 128, 128).cuda()
        for model in (plain, ddp):
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            sum(o.square().mean() for o in model(x)).backward()
            optimizer.step()
        # with one process SyncBN is BatchNorm over the same batch: same weights and running statistics
        for (name, a), b in zip(plain.state_dict().items(), ddp.module.state_dict().values()):
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5, msg=name)
    finally:
        dist.destroy_process_group()


def test_cuda_generator_state_round_trips_through_a_checkpoint(tmp_path):
    from lwmm.engine.checkpoint_safety import load_checkpoint_file
    from lwmm.engine.rng_state import get_rng_state, set_rng_state
    torch.cuda.manual_seed_all(3)
    torch.randn(8, device='cuda')
    state = get_rng_state()
    assert 'cuda' in state, 'get_rng_state left out the CUDA generators'
    expected = torch.randn(16, device='cuda')
    torch.save(dict(meta=dict(rng_state=state)), tmp_path / 'rng.pth')
    torch.randn(100, device='cuda')
    set_rng_state(load_checkpoint_file(str(tmp_path / 'rng.pth'))['meta']['rng_state'])
    torch.testing.assert_close(torch.randn(16, device='cuda'), expected, rtol=0, atol=0)
