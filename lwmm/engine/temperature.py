"""Temperature schedule of dynamic convolution (Chen et al., CVPR 2020, Sec. 3.3).

The kernel attention's softmax starts hot (tau = 30, near-uniform attention, so every kernel learns) and
cools linearly to tau = 1 over the first 10 epochs, then stays at 1. ``set_temperature`` is the one place
that sets tau for every ``DynamicConv2d`` of a model; ``DynamicConvTemperatureHook`` drives it from the
runner's epoch or iteration, so a resumed run continues the schedule where it stopped.
"""
from typing import Optional

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop

from lwmm.models.layers.dynamic_conv import DynamicConv2d
from lwmm.registry import HOOKS

#: key in ``checkpoint['meta']`` holding the temperature at save time
CHECKPOINT_KEY = 'dynamic_conv_temperature'


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def set_temperature(model: nn.Module, temperature: float) -> int:
    """Set the softmax temperature of every ``DynamicConv2d`` in ``model`` (its property checks the value);
    returns how many were set."""
    count = 0
    for module in _unwrap(model).modules():
        if isinstance(module, DynamicConv2d):
            module.temperature = temperature
            count += 1
    return count


def get_temperature(model: nn.Module) -> Optional[float]:
    """The temperature of the first ``DynamicConv2d`` in ``model`` (None when it has none)."""
    for module in _unwrap(model).modules():
        if isinstance(module, DynamicConv2d):
            return module.temperature
    return None


def annealed_temperature(step: float, start: float = 30.0, end: float = 1.0, length: float = 10) -> float:
    """Linear annealing: ``start`` at step 0, ``end`` from step ``length`` on."""
    if length <= 0:
        return end
    fraction = min(max(step / length, 0.0), 1.0)
    return start + (end - start) * fraction


@HOOKS.register_module()
class DynamicConvTemperatureHook(Hook):
    """Anneal the temperature of every ``DynamicConv2d`` linearly from ``start`` to ``end``.

    The value is a function of the runner's progress (``runner.epoch`` before each training epoch, or
    ``runner.iter`` before each training iteration), so resuming restores it; it is also written to
    ``checkpoint['meta']['dynamic_conv_temperature']`` and set again when a checkpoint is loaded, so a
    checkpoint taken mid-schedule evaluates at the temperature it was trained at.

    Args:
        start (float): Temperature at the start of training (paper: 30).
        end (float): Temperature after annealing (paper: 1).
        anneal_length (int): Length of the annealing, in epochs when ``by_epoch`` else in iterations
            (paper: 10 epochs).
        by_epoch (bool): Update once per epoch (from ``runner.epoch``) or every iteration (from
            ``runner.iter``, for iteration-based loops or a smoother schedule). An iteration-based loop
            (``IterBasedTrainLoop``, every mmseg schedule) never starts a second epoch, so ``by_epoch=True``
            there is refused when training starts (it would hold the temperature at ``start`` all run).

    Example (a config)::

        custom_hooks = [dict(type='lwmm.DynamicConvTemperatureHook', start=30, end=1, anneal_length=10)]
    """

    priority = 'NORMAL'

    def __init__(self, start: float = 30.0, end: float = 1.0, anneal_length: int = 10, by_epoch: bool = True):
        if start <= 0 or end <= 0:
            raise ValueError(f'DynamicConvTemperatureHook: start={start!r} and end={end!r} must be positive.')
        if anneal_length < 0:
            raise ValueError(f'DynamicConvTemperatureHook: anneal_length={anneal_length!r} must be >= 0.')
        self.start = float(start)
        self.end = float(end)
        self.anneal_length = anneal_length
        self.by_epoch = by_epoch

    def temperature_at(self, epoch: int, iteration: int) -> float:
        step = epoch if self.by_epoch else iteration
        return annealed_temperature(step, self.start, self.end, self.anneal_length)

    def _update(self, runner) -> None:
        tau = self.temperature_at(runner.epoch, runner.iter)
        if set_temperature(runner.model, tau) == 0:
            runner.logger.warning('DynamicConvTemperatureHook: the model has no DynamicConv2d layer.')

    def before_train(self, runner) -> None:
        self._check_loop(runner)
        self._update(runner)

    def _check_loop(self, runner) -> None:
        loop = runner.train_loop
        if not (self.by_epoch and isinstance(loop, IterBasedTrainLoop)):
            return
        try:
            hint = f' ({self.anneal_length} epochs of this dataloader are {self.anneal_length * len(loop.dataloader)})'
        except TypeError:  # a dataloader without a length
            hint = ''
        raise ValueError(f'DynamicConvTemperatureHook: by_epoch=True, but the train loop is {type(loop).__name__}, '
                         f'which counts iterations and never starts a second epoch: the temperature would stay '
                         f'at start={self.start:g} for the whole run. Set by_epoch=False and anneal_length in '
                         f'iterations{hint}.')

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._update(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not self.by_epoch:
            self._update(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        tau = get_temperature(runner.model)
        if tau is not None:
            checkpoint.setdefault('meta', {})[CHECKPOINT_KEY] = tau

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        tau = checkpoint.get('meta', {}).get(CHECKPOINT_KEY)
        if tau is not None:
            set_temperature(runner.model, tau)
