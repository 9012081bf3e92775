"""lwmm.RandomStateHook and its state helpers (the end-to-end check is tests/engine/test_exact_resume.py)."""
import io
import random

import numpy as np
import torch

from lwmm.engine.rng_state import CHECKPOINT_KEY, RandomStateHook, get_rng_state, set_rng_state


def draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


class FakeLogger:
    def __init__(self):
        self.lines = []

    def info(self, line):
        self.lines.append(line)

    warning = info


class FakeRunner:
    def __init__(self, iteration):
        self.iter = iteration
        self.logger = FakeLogger()


def test_state_round_trip_survives_a_weights_only_checkpoint():
    state = get_rng_state()
    expected = draws()
    buffer = io.BytesIO()
    torch.save(dict(meta={CHECKPOINT_KEY: [state]}), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)  # plain types only: no pickled NumPy arrays
    draws()
    set_rng_state(loaded['meta'][CHECKPOINT_KEY][0])
    assert draws() == expected


def test_resume_restores_the_saved_state_at_the_saved_iteration():
    hook = RandomStateHook()
    checkpoint = dict(meta=dict(iter=12))
    hook.before_save_checkpoint(FakeRunner(12), checkpoint)
    expected = draws()

    runner = FakeRunner(12)
    hook = RandomStateHook()
    hook.after_load_checkpoint(runner, checkpoint)
    draws()  # start-up of the resumed process (model init, dataloaders) draws in between
    hook.before_train_epoch(runner)
    assert draws() == expected and any('restored at iteration 12' in line for line in runner.logger.lines)


def test_fine_tuning_from_a_checkpoint_keeps_the_fresh_state():
    checkpoint = dict(meta=dict(iter=12))
    RandomStateHook().before_save_checkpoint(FakeRunner(12), checkpoint)
    hook, runner = RandomStateHook(), FakeRunner(0)  # load_from: training starts at iteration 0
    hook.after_load_checkpoint(runner, checkpoint)
    state = get_rng_state()
    expected = draws()
    set_rng_state(state)
    hook.before_train_epoch(runner)
    assert draws() == expected and not runner.logger.lines


def test_a_checkpoint_of_another_world_size_is_not_applied():
    checkpoint = dict(meta=dict(iter=3))
    RandomStateHook().before_save_checkpoint(FakeRunner(3), checkpoint)
    checkpoint['meta'][CHECKPOINT_KEY] *= 2  # as saved by two processes
    runner = FakeRunner(3)
    hook = RandomStateHook()
    hook.after_load_checkpoint(runner, checkpoint)
    assert 'holds generator states of 2 processes' in runner.logger.lines[0]
    assert hook._resumed_state is None


def test_validation_does_not_move_the_training_generators():
    state = get_rng_state()
    expected = draws()
    set_rng_state(state)
    hook, runner = RandomStateHook(), FakeRunner(5)
    hook.before_val(runner)
    draws()  # validation draws (its dataloader iterator takes a torch seed)
    checkpoint = dict(meta={})
    hook.before_save_checkpoint(runner, checkpoint)  # a best checkpoint saved during validation
    hook.after_val(runner)
    assert draws() == expected
    set_rng_state(checkpoint['meta'][CHECKPOINT_KEY][0])
    assert draws() == expected
