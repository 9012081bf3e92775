"""Synchronised batch norm for distributed training on CPU processes (gloo).

torch's ``nn.SyncBatchNorm`` (what mmcv builds for ``norm_cfg=dict(type='SyncBN')`` and what mmengine's
``sync_bn='torch'`` converts to) raises in training on anything but a GPU: its statistics exchange uses
CUDA kernels. ``CPUSyncBatchNorm`` computes the same thing with plain collectives: the mean and the
variance over the batches of every process (Ioffe & Szegedy 2015 batch norm, over the union of the
per-process batches, as in Peng et al., "MegDet", CVPR 2018, Sec. 4), the variance from the centred
sum of squares (two all-reduces, no E[x^2] - E[x]^2 cancellation), and gradients through the
all-reduces, so the backward pass is synchronised too. ``CPUDistributedDataParallel`` is mmengine's
DDP wrapper that swaps every ``nn.SyncBatchNorm`` for it before wrapping; the CPU launch path
(``lwmm.engine.launch.prepare_cpu_distributed``) selects it. On GPUs nothing here is used.
"""
from typing import Optional

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import MMDistributedDataParallel

from lwmm.registry import MODEL_WRAPPERS


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes; the gradient of a sum over processes is the sum of the gradients."""

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        tensor = tensor.clone()
        dist.all_reduce(tensor, group=group)
        return tensor

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad, group=ctx.group)
        return grad, None


class CPUSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm over the batches of all processes of ``process_group``, for CPU tensors.

    Same arguments, parameters and buffers as ``nn.SyncBatchNorm``; outside distributed training, or in
    eval mode, it is plain batch norm. Statistics are computed in float32 (also under bfloat16
    autocast) and the output has the input's dtype.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.process_group = process_group

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f'CPUSyncBatchNorm: expected an input of 2 or more dimensions (N, C, ...), got '
                             f'shape {tuple(input.shape)}.')

    def _synchronised(self) -> bool:
        return (self.training and dist.is_available() and dist.is_initialized()
                and dist.get_world_size(self.process_group) > 1)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(input)
        if not self._synchronised():
            return super().forward(input)
        channels = input.size(1)
        dims = [0] + list(range(2, input.dim()))
        shape = [1, channels] + [1] * (input.dim() - 2)
        x = input.float()
        local_count = x.new_tensor([input.numel() / channels])
        totals = _AllReduceSum.apply(torch.cat([x.sum(dims), local_count]), self.process_group)
        count = totals[-1]
        if count <= 1:
            raise ValueError(f'CPUSyncBatchNorm: {int(count)} value(s) per channel over all processes; batch '
                             'norm in training needs more than 1 (raise the batch size).')
        mean = totals[:-1] / count
        centred = x - mean.view(shape)
        var = _AllReduceSum.apply(centred.pow(2).sum(dims), self.process_group) / count

        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum)
                unbiased = var.detach() * (count / (count - 1))
                self.running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
                self.running_var.mul_(1 - factor).add_(unbiased, alpha=factor)

        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(input.dtype)


def convert_to_cpu_sync_batchnorm(module: nn.Module, process_group=None) -> nn.Module:
    """Replace every ``nn.SyncBatchNorm`` in ``module`` by a ``CPUSyncBatchNorm`` that keeps its
    parameters and buffers (the same tensors); returns the converted module."""
    if isinstance(module, nn.SyncBatchNorm):
        converted = CPUSyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                     module.track_running_stats, process_group)
        if module.affine:
            converted.weight, converted.bias = module.weight, module.bias
        if module.track_running_stats:
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
        converted.train(module.training)
        return converted
    for name, child in module.named_children():
        replaced = convert_to_cpu_sync_batchnorm(child, process_group)
        if replaced is not child:
            setattr(module, name, replaced)
    return module


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper for CPU processes: SyncBN layers become ``CPUSyncBatchNorm``, which
    exchange their statistics in a process group of their own (so their all-reduces never interleave
    with DDP's gradient buckets), then the module is wrapped as usual (``device_ids=None`` on CPU)."""

    def __init__(self, module: nn.Module, **kwargs):
        if any(isinstance(m, nn.SyncBatchNorm) for m in module.modules()):
            module = convert_to_cpu_sync_batchnorm(module, dist.new_group(backend='gloo'))
        super().__init__(module=module, **kwargs)
