"""lwmm.NonFiniteLossHook: a NaN loss stops training with a clear error and the last good checkpoint stays."""
import math
import os.path as osp
import uuid

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner

from lwmm.engine.default_hooks import add_default_hooks
from lwmm.engine.non_finite import NonFiniteLossHook


class LossTurnsNaN(BaseModel):
    """A linear model whose ``loss_main`` term is NaN on training call ``nan_at`` (1-based)."""

    def __init__(self, nan_at: int):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.nan_at = nan_at
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode != 'loss':
            return out
        self.calls += 1
        main = out.pow(2).mean()
        if self.calls == self.nan_at:
            main = main * float('nan')
        return dict(loss_main=main, loss_aux=out.abs().mean())


def make_runner(work_dir, model, max_epochs=3):
    dataset = [dict(inputs=torch.full((2, ), float(i))) for i in range(6)]  # 3 iterations of 2 per epoch
    cfg = Config(dict(default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))))
    add_default_hooks(cfg)
    return Runner(
        model=model, work_dir=str(work_dir), experiment_name=f'nonfinite_{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=dataset, batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs), default_hooks=cfg.default_hooks,
        default_scope='mmengine')


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    # iteration 5 is the second batch of epoch 2: epoch_1.pth exists, epoch_2.pth must never be written
    runner = make_runner(tmp_path, LossTurnsNaN(nan_at=5))
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    message = str(error.value)
    assert 'iteration 5 (epoch 2, batch 2 of 3)' in message
    assert 'loss, loss_main not finite (loss=nan, loss_main=nan, loss_aux=' in message
    assert osp.join(str(tmp_path), 'epoch_1.pth') in message and 'lower learning rate' in message

    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['epoch_1.pth']
    assert (tmp_path / 'last_checkpoint').read_text().strip() == str(tmp_path / 'epoch_1.pth')
    checkpoint = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu', weights_only=False)
    assert checkpoint['meta']['epoch'] == 1
    assert all(torch.isfinite(t).all() for t in checkpoint['state_dict'].values())
    # the bad step did update the weights in memory: they are what would have been saved
    assert not all(torch.isfinite(p).all() for p in runner.model.parameters())


def test_nan_before_any_checkpoint_says_so(tmp_path):
    runner = make_runner(tmp_path, LossTurnsNaN(nan_at=1))
    with pytest.raises(FloatingPointError, match=r'iteration 1 .*No checkpoint has been saved yet'):
        runner.train()
    assert not list(tmp_path.glob('*.pth'))


def test_a_checkpoint_with_nan_weights_is_refused():
    hook = NonFiniteLossHook()

    class FakeRunner:
        work_dir = '/nonexistent'

    state = dict(good=torch.ones(2), bad=torch.tensor([1.0, math.inf]), steps=torch.tensor(3))
    with pytest.raises(FloatingPointError, match=r'non-finite weights in bad\.'):
        hook.before_save_checkpoint(FakeRunner(), dict(state_dict=state))
    state['bad'] = torch.zeros(2)
    hook.before_save_checkpoint(FakeRunner(), dict(state_dict=state))
    NonFiniteLossHook(check_weights=False).before_save_checkpoint(
        FakeRunner(), dict(state_dict=dict(bad=torch.tensor(math.nan))))


def test_finite_losses_pass_and_integers_are_ignored(tmp_path):
    runner = make_runner(tmp_path, LossTurnsNaN(nan_at=-1), max_epochs=1)
    runner.train()
    NonFiniteLossHook().after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(0.5), num_samples=3))


def test_default_hooks_are_added_kept_or_removed():
    cfg = Config(dict(default_hooks=dict(rng_state=None, non_finite_loss=dict(
        type='lwmm.NonFiniteLossHook', check_weights=False))))
    add_default_hooks(cfg)
    assert 'rng_state' not in cfg.default_hooks
    assert cfg.default_hooks.non_finite_loss.check_weights is False
    bare = Config(dict())
    add_default_hooks(bare)
    assert set(bare.default_hooks) == {'non_finite_loss', 'rng_state', 'plain_checkpoint'}
