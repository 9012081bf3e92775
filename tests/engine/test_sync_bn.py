"""CPUSyncBatchNorm: two gloo processes with half a batch each compute batch norm over the whole batch."""
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn

from lwmm.engine.sync_bn import CPUSyncBatchNorm, convert_to_cpu_sync_batchnorm


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _reference_and_inputs():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, 5, 4, generator=generator) * 3 + 1
    upstream = torch.randn(6, 3, 5, 4, generator=generator)  # d(loss)/d(output)
    reference = nn.BatchNorm2d(3, momentum=0.3)
    with torch.no_grad():
        reference.weight.copy_(torch.tensor([0.5, 1.5, -1.0]))
        reference.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    return x, upstream, reference


def _two_process_worker(rank: int, port: int):
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    try:
        torch.set_num_threads(1)
        x, upstream, reference = _reference_and_inputs()
        synced = nn.SyncBatchNorm(3, momentum=0.3)
        synced.load_state_dict(reference.state_dict())
        synced = convert_to_cpu_sync_batchnorm(synced)
        assert isinstance(synced, CPUSyncBatchNorm)

        # unequal shares (4 and 2 images): the statistics must weight processes by their counts
        part = slice(0, 4) if rank == 0 else slice(4, 6)
        local = x[part].clone().requires_grad_()
        out = synced(local)
        (out * upstream[part]).sum().backward()

        full = x.clone().requires_grad_()
        expected = reference(full)
        (expected * upstream).sum().backward()

        torch.testing.assert_close(out, expected[part].detach(), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(local.grad, full.grad[part], rtol=1e-4, atol=1e-5)
        for name in ('weight', 'bias'):
            grad = getattr(synced, name).grad.clone()
            dist.all_reduce(grad)  # DDP would average these; their sum is the full batch's gradient
            torch.testing.assert_close(grad, getattr(reference, name).grad, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(synced.running_mean, reference.running_mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(synced.running_var, reference.running_var, rtol=1e-5, atol=1e-6)
        assert int(synced.num_batches_tracked) == 1
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_match_batch_norm_over_the_whole_batch():
    # this file is the worker script (pytest's importlib mode leaves it unimportable for mp.spawn)
    port = str(_free_port())
    env = dict(os.environ, OMP_NUM_THREADS='1')
    workers = [subprocess.Popen([sys.executable, __file__, str(rank), port], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for rank in (0, 1)]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], '\n'.join(out[-2000:] for out in outputs)


def test_without_a_process_group_it_is_batch_norm():
    x, upstream, reference = _reference_and_inputs()
    synced = CPUSyncBatchNorm(3, momentum=0.3)
    synced.load_state_dict(reference.state_dict())
    torch.testing.assert_close(synced(x), reference(x))
    torch.testing.assert_close(synced.running_var, reference.running_var)
    synced.eval(), reference.eval()
    torch.testing.assert_close(synced(x), reference(x))


def test_conversion_keeps_parameters_buffers_and_mode():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.SyncBatchNorm(4), nn.Sequential(nn.SyncBatchNorm(4)))
    model.eval()
    weight, running_mean = model[1].weight, model[1].running_mean
    converted = convert_to_cpu_sync_batchnorm(model)
    assert isinstance(converted[1], CPUSyncBatchNorm) and isinstance(converted[2][0], CPUSyncBatchNorm)
    assert converted[1].weight is weight and converted[1].running_mean is running_mean
    assert not converted[1].training
    assert set(dict(converted.state_dict())) == {'0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean',
                                                '1.running_var', '1.num_batches_tracked', '2.0.weight',
                                                '2.0.bias', '2.0.running_mean', '2.0.running_var',
                                                '2.0.num_batches_tracked'}


def test_bad_input_dimension():
    with pytest.raises(ValueError, match='2 or more dimensions'):
        CPUSyncBatchNorm(3)(torch.zeros(3))


if __name__ == '__main__':
    _two_process_worker(int(sys.argv[1]), int(sys.argv[2]))
