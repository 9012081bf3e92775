"""A training SIGKILLed part-way and resumed with ``--resume`` ends where an uninterrupted run ends.

Two tiny runs through tools/train.py: MobileViT-XXS classification with the multi-scale batch sampler,
dropout and EMA; SSDLite with a dynamic-conv MobileNetV2 backbone and the temperature schedule. Each is run
once without interruption, and once killed (SIGKILL, from a test-only hook) in the middle of epoch 2,
after epoch 1's checkpoint, then resumed to the end. Validation runs after every epoch, so the check also
covers validation not disturbing the training generators. Without lwmm.RandomStateHook (default_hooks
``rng_state=None``) both fail: 279 (classifier) and 579 (detector) tensors differ at the end.
"""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
pytestmark = pytest.mark.slow

KILL_SWITCH = textwrap.dedent('''
    import os, signal
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    @HOOKS.register_module()
    class KillSwitch(Hook):
        """SIGKILL this process after batch B of epoch E (0-based), given as LWMM_TEST_KILL_AT="E:B"."""
        priority = 'LOWEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            target = os.environ.get('LWMM_TEST_KILL_AT')
            if target and tuple(map(int, target.split(':'))) == (runner.epoch, batch_idx):
                os.kill(os.getpid(), signal.SIGKILL)
''')

COMMON = textwrap.dedent('''
    custom_imports = dict(imports=['lwmm', 'kill_switch'], allow_failed_imports=False)
    randomness = dict(seed=0, deterministic=True)
    default_hooks = dict(logger=dict(interval=1))
''')

CONFIGS = {
    # multi-scale sampler (resolution per batch from seed + epoch), dropout, EMA, random crops and flips
    'cls': ('configs/demo/mobilevit-xxs_shapes.py', 'accuracy/top1', textwrap.dedent('''
        # the real config's sampler (the demo trains at one size)
        train_dataloader = dict(
            _delete_=True, batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='lwmm.MultiScaleBatchSampler', base_size=64, scales=(48, 64, 80)),
            dataset=dict(type='lwmm.MultiScaleDataset', dataset=dict(**_base_.shapes_imagenet, data_prefix='train', pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='lwmm.BatchShapeTransform', transform=dict(type='RandomResizedCrop', scale=64)),
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackInputs')])))
        val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
        test_dataloader = val_dataloader
        train_cfg = dict(max_epochs=2, val_interval=1)
        param_scheduler = [
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
            dict(type='CosineAnnealingLR', eta_min=0.0002, by_epoch=True, begin=0, end=2, T_max=2),
        ]
        custom_hooks = [dict(type='EMAHook', momentum=0.01, priority='ABOVE_NORMAL'), dict(type='KillSwitch')]
        ''')),
    # dynamic convolution with its temperature annealed over the 2 epochs; 128 px images
    'det': ('configs/demo/ssdlite_dy-mobilenetv2_shapes.py', 'coco/bbox_mAP', textwrap.dedent('''
        _train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', scale=(128, 128), keep_ratio=False),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackDetInputs')]
        _test_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(128, 128), keep_ratio=False),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]
        train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                                dataset=dict(pipeline=_train_pipeline, filter_cfg=dict(min_size=8)))
        val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                              dataset=dict(pipeline=_test_pipeline))
        test_dataloader = val_dataloader
        train_cfg = dict(max_epochs=2, val_interval=1)
        param_scheduler = [
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
            dict(type='CosineAnnealingLR', begin=0, T_max=2, end=2, by_epoch=True, eta_min=0)]
        custom_hooks = [
            dict(type='lwmm.DynamicConvTemperatureHook', start=30, end=1, anneal_length=2, by_epoch=True),
            dict(type='KillSwitch')]
        ''')),
}


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    from lwmm.datasets.shapes import make_shapes
    space = tmp_path_factory.mktemp('resume')
    # 5 validation images cover the 4 classes, which mmpretrain's folder dataset requires
    make_shapes(str(space / 'data' / 'shapes'), tasks=('imagenet', ), scale=0.05, seed=3)
    make_shapes(str(space / 'data' / 'shapes'), tasks=('coco', ), scale=0.03, seed=3)
    (space / 'kill_switch.py').write_text(KILL_SWITCH)
    return space


def train(workspace, config, work_dir, *extra, kill_at=None):
    env = dict(os.environ, PYTHONPATH=f'{ROOT}:{workspace}', OMP_NUM_THREADS='1', OMP_WAIT_POLICY='PASSIVE')
    env.pop('LWMM_TEST_KILL_AT', None)
    if kill_at:
        env['LWMM_TEST_KILL_AT'] = kill_at
    return subprocess.Popen([sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(config), '--work-dir',
                             str(work_dir), *extra], cwd=workspace, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(process, timeout=600):
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def last_metric(work_dir, key):
    """The metric of the last validation, from the newest run's scalars.json in work_dir."""
    runs = sorted(name for name in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, name)))
    path = osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')
    values = [entry[key] for entry in map(json.loads, open(path)) if key in entry]
    assert values, f'no {key} in {path}'
    return values[-1]


@pytest.mark.parametrize('task', sorted(CONFIGS))
def test_killed_and_resumed_run_matches_uninterrupted(workspace, task):
    base, metric, body = CONFIGS[task]
    config = workspace / f'exact_{task}.py'
    config.write_text(f"_base_ = '{osp.join(ROOT, base)}'\n" + COMMON + body)
    straight, interrupted = workspace / f'{task}_straight', workspace / f'{task}_interrupted'

    # both start together (one thread each, so neither run's arithmetic depends on the other)
    reference = train(workspace, config, straight)
    try:
        code, output = finish(train(workspace, config, interrupted, kill_at='1:1'))
        assert code == -signal.SIGKILL, output[-3000:]
        assert (interrupted / 'epoch_1.pth').exists() and not (interrupted / 'epoch_2.pth').exists(), output[-3000:]

        code, resumed_output = finish(train(workspace, config, interrupted, '--resume'))
        assert code == 0, resumed_output[-3000:]
        assert 'resumed epoch: 1' in resumed_output and 'generator states restored' in resumed_output
        code, output = finish(reference)
        assert code == 0, output[-3000:]
    finally:
        if reference.poll() is None:
            reference.kill()
            reference.wait()

    expected = torch.load(straight / 'epoch_2.pth', map_location='cpu', weights_only=False)
    actual = torch.load(interrupted / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert expected['state_dict'].keys() == actual['state_dict'].keys()
    differing = [name for name, tensor in expected['state_dict'].items()
                 if not torch.equal(tensor, actual['state_dict'][name])]
    assert not differing, f'{len(differing)} tensors differ after resuming, first: {differing[:5]}'
    assert expected['meta'].get('dynamic_conv_temperature') == actual['meta'].get('dynamic_conv_temperature')
    assert last_metric(straight, metric) == last_metric(interrupted, metric)
