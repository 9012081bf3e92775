"""Mixed precision for ``--amp``, on GPUs (float16, mmengine's AmpOptimWrapper) and on CPUs (bfloat16).

mmengine 0.10.7's ``AmpOptimWrapper`` refuses to run without an accelerator. On the CPU, autocast to
bfloat16 needs no loss scaling (bfloat16 keeps float32's exponent range), so ``CPUAmpOptimWrapper`` is a
plain ``OptimWrapper`` whose forward context is ``torch.autocast('cpu', dtype=torch.bfloat16)``.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from lwmm.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """OptimWrapper running the forward pass under CPU autocast (bfloat16 by default)."""

    def __init__(self, dtype: str = 'bfloat16', **kwargs):
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f'CPUAmpOptimWrapper: dtype={dtype!r}; use "bfloat16" (or "float16").')
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield


def enable_amp(cfg) -> None:
    """Switch ``cfg.optim_wrapper`` to mixed precision for the device this process trains on."""
    wrapper = cfg.optim_wrapper
    kind = wrapper.get('type', 'OptimWrapper')
    if kind in ('AmpOptimWrapper', 'lwmm.CPUAmpOptimWrapper'):
        return
    if kind != 'OptimWrapper':
        raise ValueError(f'--amp: optim_wrapper.type={kind!r}; --amp converts only "OptimWrapper". '
                         'Set the mixed-precision wrapper in the config yourself.')
    if torch.cuda.is_available():
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')
    else:
        wrapper.type = 'lwmm.CPUAmpOptimWrapper'
        wrapper.setdefault('dtype', 'bfloat16')
