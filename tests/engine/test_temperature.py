import glob
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from lwmm.engine.temperature import (DynamicConvTemperatureHook, annealed_temperature, get_temperature,
                                     set_temperature)
from lwmm.models.layers.dynamic_conv import DynamicConv2d
from lwmm.registry import HOOKS


class _TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.conv1 = DynamicConv2d(3, 4, 3, padding=1, K=2)
        self.conv2 = nn.Sequential(DynamicConv2d(4, 2, 1, K=3))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.conv2(self.conv1(torch.stack(inputs)))
        if mode == 'loss':
            return dict(loss=out.square().mean())
        return out


class _Dataset(torch.utils.data.Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return dict(inputs=torch.full((3, 4, 4), float(index)))


class _Recorder(Hook):
    """Records the temperature each training iteration runs at (after the schedule hook)."""
    priority = 'LOW'

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen.append((runner.epoch, runner.iter, get_temperature(runner.model)))


def _runner(work_dir, hook_cfg, max_epochs=None, max_iters=None, resume=None, name='run'):
    loop = dict(by_epoch=True, max_epochs=max_epochs) if max_epochs else dict(by_epoch=False, max_iters=max_iters)
    recorder = _Recorder()
    runner = Runner(
        model=_TinyModel(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=_Dataset(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2,
            num_workers=0, collate_fn=dict(type='pseudo_collate')),
        train_cfg=loop,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[hook_cfg, recorder],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=bool(max_epochs)),
            logger=dict(type='LoggerHook', interval=100),
            plain_checkpoint=dict(type='lwmm.PlainCheckpointHook')),  # as lwmm's tools: resumable weights-only
        resume=resume is not None,
        load_from=resume,
        experiment_name=name,
        default_scope='lwmm',
    )
    return runner, recorder


def test_set_and_get_temperature():
    model = _TinyModel()
    assert set_temperature(model, 7.5) == 2
    assert model.conv1.temperature == 7.5 and model.conv2[0].temperature == 7.5
    assert get_temperature(model) == 7.5
    assert get_temperature(nn.Conv2d(1, 1, 1)) is None
    with pytest.raises(ValueError, match='temperature'):
        set_temperature(model, 0)


def test_annealed_temperature_is_linear():
    assert annealed_temperature(0) == 30
    assert annealed_temperature(5) == pytest.approx(15.5)
    assert annealed_temperature(10) == 1 and annealed_temperature(50) == 1
    assert annealed_temperature(3, start=10, end=2, length=4) == pytest.approx(4)
    assert annealed_temperature(0, length=0) == 1


def test_registered_and_validated():
    hook = HOOKS.build(dict(type='lwmm.DynamicConvTemperatureHook', anneal_length=3))
    assert isinstance(hook, DynamicConvTemperatureHook)
    with pytest.raises(ValueError, match='start'):
        DynamicConvTemperatureHook(start=0)
    with pytest.raises(ValueError, match='anneal_length'):
        DynamicConvTemperatureHook(anneal_length=-1)


def test_by_epoch_schedule_and_resume(tmp_path):
    hook = dict(type='lwmm.DynamicConvTemperatureHook', start=30, end=1, anneal_length=2)
    runner, recorder = _runner(str(tmp_path), hook, max_epochs=3)
    runner.train()
    per_epoch = {}
    for epoch, _, tau in recorder.seen:
        per_epoch.setdefault(epoch, set()).add(tau)
    assert per_epoch == {0: {30.0}, 1: {15.5}, 2: {1.0}}
    assert get_temperature(runner.model) == 1.0

    # the checkpoint after epoch 1 stores the temperature epoch 1 ran at; resuming runs epoch 2 at 1
    checkpoint = torch.load(osp.join(str(tmp_path), 'epoch_2.pth'), map_location='cpu', weights_only=False)
    assert checkpoint['meta']['dynamic_conv_temperature'] == 15.5
    resumed, recorder = _runner(str(tmp_path), hook, max_epochs=3, resume=osp.join(str(tmp_path), 'epoch_2.pth'),
                                name='resumed')
    resumed.train()
    assert {tau for _, _, tau in recorder.seen} == {1.0}
    assert [epoch for epoch, _, _ in recorder.seen] == [2] * 4


def test_by_iter_schedule_and_resume(tmp_path):
    hook = dict(type='lwmm.DynamicConvTemperatureHook', start=9, end=1, anneal_length=4, by_epoch=False)
    runner, recorder = _runner(str(tmp_path), hook, max_iters=6)
    runner.train()
    assert [tau for _, _, tau in recorder.seen] == [9.0, 7.0, 5.0, 3.0, 1.0, 1.0]
    resumed, recorder = _runner(str(tmp_path), hook, max_iters=6, resume=osp.join(str(tmp_path), 'iter_2.pth'),
                                name='resumed')
    resumed.train()
    assert [(it, tau) for _, it, tau in recorder.seen] == [(2, 5.0), (3, 3.0), (4, 1.0), (5, 1.0)]


def test_by_epoch_in_an_iteration_loop_is_refused(tmp_path):
    """An IterBasedTrainLoop (every mmseg schedule) stays in epoch 0: a per-epoch schedule would hold tau at
    its start for the whole run and save it into the checkpoints. Training must not start."""
    hook = dict(type='lwmm.DynamicConvTemperatureHook', start=30, end=1, anneal_length=2, by_epoch=True)
    runner, recorder = _runner(str(tmp_path), hook, max_iters=6)
    with pytest.raises(ValueError, match=r'by_epoch=True.*IterBasedTrainLoop.*by_epoch=False.*are 8\)'):
        runner.train()
    assert recorder.seen == []
    assert glob.glob(osp.join(str(tmp_path), '**', '*.pth'), recursive=True) == []


_CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')


@pytest.mark.parametrize('path', sorted(
    osp.relpath(p, _CONFIGS) for p in glob.glob(osp.join(_CONFIGS, '**', '*.py'), recursive=True)
    if '_base_' not in p and 'DynamicConvTemperatureHook' in open(p).read()))
def test_configs_anneal_in_a_unit_their_loop_counts(path):
    """Every config that names the hook (directly; bases add none) anneals per iteration, which every loop
    counts, or per epoch in an epoch-based loop (an iteration-based loop never starts a second epoch)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(_CONFIGS, path))
    hooks = [h for h in cfg.get('custom_hooks', []) if h['type'].endswith('DynamicConvTemperatureHook')]
    assert len(hooks) == 1
    loop = cfg.train_cfg
    iteration_loop = loop.get('type', '').endswith('IterBasedTrainLoop') or loop.get('by_epoch') is False
    assert not (iteration_loop and hooks[0].get('by_epoch', True))


def test_loading_a_checkpoint_restores_its_temperature(tmp_path):
    hook = DynamicConvTemperatureHook()
    model = _TinyModel()

    class _FakeRunner:
        pass

    runner = _FakeRunner()
    runner.model = model
    set_temperature(model, 12.0)
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    set_temperature(model, 1.0)
    hook.after_load_checkpoint(runner, checkpoint)
    assert get_temperature(model) == 12.0
