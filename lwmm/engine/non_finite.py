"""Stop training at the first non-finite loss, before any checkpoint can hold NaN weights.

A NaN or Inf loss (a diverging learning rate, a broken sample, an overflow) spreads through the
gradients into every weight within one step, and mmengine 0.10.7 goes on training and saving such
checkpoints, so the run's last good state is lost once ``max_keep_ckpts`` rotates it out. mmdet's
``CheckInvalidLossHook`` checks only every ``interval`` iterations and only the total loss.
"""
import math
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.hooks import Hook

from lwmm.registry import HOOKS


def _as_float(value) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean()) if value.numel() else None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _last_checkpoint(runner) -> Optional[str]:
    pointer = osp.join(runner.work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            return f.read().strip() or None
    return None


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise ``FloatingPointError`` when the loss or any loss term is NaN or Inf, and refuse to save
    a checkpoint whose weights are not finite.

    The loss is checked after every training iteration, before the checkpoint and logger hooks of that
    iteration run, so the weights the bad step produced are never written; ``last_checkpoint`` keeps
    pointing at the last good checkpoint. The weight check guards the one case the loss check cannot
    see: a finite loss whose gradients overflow, leaving NaN weights behind a checkpoint saved at the
    same iteration.

    lwmm's tools add it to every training as ``default_hooks.non_finite_loss``
    (``lwmm.engine.default_hooks``).

    Args:
        check_weights (bool): Check the weights before every checkpoint is saved (one pass over the
            state dict per checkpoint).
    """

    # before the checkpoint (VERY_LOW), logger and EMA hooks of the same iteration
    priority = 'VERY_HIGH'

    def __init__(self, check_weights: bool = True):
        self.check_weights = check_weights

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[Dict] = None) -> None:
        if not outputs:
            return
        values = {name: _as_float(value) for name, value in outputs.items()}
        values = {name: value for name, value in values.items() if value is not None}
        bad = [name for name, value in values.items() if not math.isfinite(value)]
        if not bad:
            return
        terms = ', '.join(f'{name}={value:.4g}' for name, value in values.items())
        where = f'iteration {runner.iter + 1}'
        loop = runner.train_loop
        if hasattr(loop, 'max_epochs'):
            where += f' (epoch {runner.epoch + 1}, batch {batch_idx + 1} of {len(loop.dataloader)})'
        last = _last_checkpoint(runner)
        kept = (f'The last good checkpoint is {last} (work_dir/last_checkpoint points to it); resume from it'
                if last else 'No checkpoint has been saved yet; start again')
        raise FloatingPointError(
            f'Non-finite loss at {where}: {", ".join(bad)} not finite ({terms}). Training stopped before '
            f'these weights were saved. {kept} with a lower learning rate (optim_wrapper.optimizer.lr), '
            'gradient clipping (optim_wrapper.clip_grad=dict(max_norm=...)) or a longer warm-up, or check '
            'the data of this batch.')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self.check_weights:
            return
        bad = [name for name, tensor in checkpoint.get('state_dict', {}).items()
               if isinstance(tensor, torch.Tensor) and tensor.is_floating_point()
               and not bool(torch.isfinite(tensor).all())]
        if bad:
            shown = ', '.join(bad[:5]) + (f' and {len(bad) - 5} more' if len(bad) > 5 else '')
            last = _last_checkpoint(runner)
            raise FloatingPointError(
                f'Refusing to save a checkpoint: non-finite weights in {shown}. '
                + (f'The last good checkpoint is {last}. ' if last else '')
                + 'Lower the learning rate or add gradient clipping (optim_wrapper.clip_grad).')
