"""Random-number-generator state in checkpoints, so that a resumed training continues exactly.

mmengine 0.10.7 saves the seed in a checkpoint but not the generators' state: a run resumed from epoch k
re-seeds (or keeps its fresh start-up state) and so draws different augmentations, dropout masks and
drop-path decisions from an uninterrupted run, even in deterministic mode. ``RandomStateHook`` writes the
state of Python's ``random``, NumPy's global generator and torch's CPU (and CUDA) generators into
``checkpoint['meta']`` and sets them back at the start of the first epoch after resuming, the point that
corresponds to where they were saved (the end of the previous epoch). It also keeps validation from
consuming the training generators (creating a dataloader iterator draws from torch's generator), so a run
that validates after epoch k and a run resumed at epoch k see the same training randomness.

What it does not cover: dataloader workers kept alive across epochs (``persistent_workers=True``) hold
their own generators in other processes; mmengine seeds non-persistent workers afresh every epoch, so
exact resume needs ``persistent_workers=False`` (or ``num_workers=0``). Data order is already exact:
``DefaultSampler`` shuffles with ``seed + epoch`` and ``lwmm.MultiScaleBatchSampler`` draws its
resolutions from ``seed + epoch``.
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook

from lwmm.registry import HOOKS

#: key in ``checkpoint['meta']`` holding the generator states (a list with one entry per rank)
CHECKPOINT_KEY = 'rng_states'


def get_rng_state() -> dict:
    """The state of every global generator this process uses, as plain lists and tensors.

    Plain types (no NumPy arrays) keep the checkpoint loadable with ``torch.load(weights_only=True)``.
    """
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    version, py_internal, py_gauss = random.getstate()
    state = dict(
        python=[version, list(py_internal), py_gauss],
        numpy=[np_kind, torch.from_numpy(np_keys.astype(np.int64)), int(np_pos), int(np_has_gauss),
               float(np_gauss)],
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore the generators from a :func:`get_rng_state` result."""
    version, py_internal, py_gauss = state['python']
    random.setstate((version, tuple(py_internal), py_gauss))
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = state['numpy']
    np.random.set_state((np_kind, np_keys.numpy().astype(np.uint32), np_pos, np_has_gauss, np_gauss))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        cuda_states = state['cuda']
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the generators' state with every checkpoint and restore it when training resumes.

    In distributed training every rank's state is gathered at the end of each epoch and saved with
    that epoch's checkpoints; a run resumed with the same number of processes gives each rank its own
    state back (with another number it keeps its seeded state and says so). Loading a checkpoint to
    fine-tune (``load_from`` without resuming) leaves the generators alone: the state is applied only
    when training continues at the checkpoint's iteration.

    lwmm's tools add it to every training as ``default_hooks.rng_state`` (``lwmm.engine.default_hooks``).
    """

    # first, so the state is restored before any other hook of the epoch draws from it
    priority = 'HIGHEST'

    def __init__(self):
        self._resumed_state: Optional[dict] = None
        self._resumed_iter: Optional[int] = None
        self._training_state: Optional[dict] = None  # stashed while validation runs
        self._gathered: Optional[tuple] = None  # (iteration, every rank's state), distributed only

    # saving -------------------------------------------------------------------------------------
    def after_train_epoch(self, runner) -> None:
        # mmengine saves checkpoints on rank 0 only, so the other ranks' states are collected here,
        # where every rank passes, just before the checkpoint hook (and validation) of the epoch
        if get_world_size() > 1:
            self._gathered = (runner.iter, all_gather_object(get_rng_state()))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._gathered is not None and self._gathered[0] == runner.iter:
            states = self._gathered[1]
        else:
            # a checkpoint saved during validation (the best one) records the training state, not the
            # state validation has moved on to; a distributed run's checkpoints between epochs hold
            # rank 0's state only, which a resumed run of several processes does not apply
            states = [self._training_state if self._training_state is not None else get_rng_state()]
        checkpoint.setdefault('meta', {})[CHECKPOINT_KEY] = states

    # resuming -----------------------------------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        states = meta.get(CHECKPOINT_KEY)
        if not states:
            return
        if len(states) != get_world_size():
            runner.logger.warning(
                f'RandomStateHook: the checkpoint holds generator states of {len(states)} processes, this run '
                f'has {get_world_size()}; the generators keep their seeded state, so the resumed training is '
                'not an exact continuation.')
            return
        self._resumed_state = states[get_rank()]
        self._resumed_iter = meta.get('iter')

    def _restore_if_resuming(self, runner) -> None:
        if self._resumed_state is not None and runner.iter == self._resumed_iter:
            set_rng_state(self._resumed_state)
            runner.logger.info(f'RandomStateHook: generator states restored at iteration {runner.iter}.')
        self._resumed_state = None

    def before_train_epoch(self, runner) -> None:
        # iteration-based loops call it once, before skipping the batches already trained on
        self._restore_if_resuming(runner)

    # validation does not draw from the training generators ----------------------------------------
    def before_val(self, runner) -> None:
        self._training_state = get_rng_state()

    def after_val(self, runner) -> None:
        if self._training_state is not None:
            set_rng_state(self._training_state)
            self._training_state = None
