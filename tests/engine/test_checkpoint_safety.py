"""Weights-only checkpoint loading (lwmm.engine.checkpoint_safety): crafted files are refused by torch.load with
and without lwmm and by lwmm's own load paths; the checkpoints mmengine writes load through those paths."""
import builtins
import copyreg
import importlib
import importlib.util
import itertools
import json
import os
import os.path as osp
import pickle
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from lwmm.engine.checkpoint_checks import read_checkpoint
from lwmm.engine.checkpoint_safety import (PlainCheckpointHook, guard_runner_loads, load_checkpoint_file,
                                           mmengine_checkpoint_globals, mmengine_globals)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RUNS = itertools.count()


class Call:
    """Pickles as ``func(*args)`` (pickle's REDUCE), then ``result[key] = value`` for each of ``items``
    (SETITEMS): how a crafted file calls things and writes into what they return. ``func`` may itself be a
    Call (the file calls what an earlier call returned)."""

    def __init__(self, func, *args, items=None):
        self.func, self.args, self.items = func, args, items

    def __call__(self, *args):  # pickle asks that the callable of a reduce be callable; never called here
        raise AssertionError('a Call is only pickled')

    def __reduce__(self):
        return self.func, self.args, None, None, iter(self.items.items()) if self.items else None


BUILTINS = Call(getattr, getattr, '__self__')  # getattr.__self__ is the builtins module


def touch(marker):
    return f"open({str(marker)!r}, 'w').close()"


def escapes(marker):
    """Classic weights-only escapes: each creates ``marker`` if the loader runs it."""
    import_os = Call(Call(getattr, BUILTINS, '__import__'), 'os')
    return {
        'os.system': Call(importlib.import_module('os').system, f'touch {marker}'),
        'eval': Call(builtins.eval, touch(marker)),
        'exec': Call(builtins.exec, touch(marker)),
        'getattr chain to exec': Call(Call(getattr, BUILTINS, 'exec'), touch(marker)),
        'getattr chain to os.system': Call(Call(getattr, import_os, 'system'), f'touch {marker}'),
        'subprocess': Call(importlib.import_module('subprocess').check_call, ['touch', str(marker)]),
        'importlib': Call(importlib.import_module, 'os'),
    }


def history_buffer_table_rewrite():
    """The file the issue describes: with getattr allowed it reaches the builtins module and rewrites
    HistoryBuffer's class-level statistics table, which mmengine's LogProcessor later calls."""
    table = Call(getattr, HistoryBuffer, '_statistics_methods', items={'mean': Call(getattr, BUILTINS, 'exec')})
    return dict(state_dict={}, meta=dict(epoch=1, iter=1), message_hub=table)


def write_crafted(tmp_path):
    """{name: checkpoint path} for every crafted file, and the marker each escape would create."""
    marker = tmp_path / 'escaped'
    paths = {}
    for name, payload in dict(escapes(marker), **{'HistoryBuffer table': history_buffer_table_rewrite()}).items():
        path = tmp_path / (name.replace(' ', '_').replace('.', '_') + '.pth')
        torch.save(dict(state_dict={}, meta=dict(payload=payload)), path)
        paths[name] = str(path)
    return paths, marker


@pytest.fixture
def crafted(tmp_path):
    return write_crafted(tmp_path)


@pytest.fixture
def statistics_table():
    """HistoryBuffer's class-level table, checked unchanged (and restored) after the test."""
    HistoryBuffer()  # the first buffer registers the default statistics
    before = dict(HistoryBuffer._statistics_methods)
    yield before
    changed = HistoryBuffer._statistics_methods != before
    HistoryBuffer._statistics_methods.clear()
    HistoryBuffer._statistics_methods.update(before)
    assert not changed, 'a load rewrote HistoryBuffer._statistics_methods'


def run_python(code, *args):
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_crafted_file_rewrites_the_statistics_table_when_getattr_is_allowed(crafted):
    """The allow-list lwmm used to add at import (getattr, HistoryBuffer, numpy) lets the crafted file
    replace HistoryBuffer.mean with builtins.exec: the file the other tests refuse is a real attack."""
    paths, _ = crafted
    result = run_python('''
        import builtins, sys, torch
        from mmengine.logging import HistoryBuffer
        torch.serialization.add_safe_globals([getattr, HistoryBuffer])
        torch.load(sys.argv[1], weights_only=True)
        print('mean is exec:', HistoryBuffer._statistics_methods['mean'] is builtins.exec)
    ''', paths['HistoryBuffer table'])
    assert 'mean is exec: True' in result.stdout, result.stderr[-2000:]


def test_plain_torch_refuses_the_crafted_files_without_lwmm(crafted):
    paths, marker = crafted
    result = run_python('''
        import json, pickle, sys, torch
        refused = {}
        for name, path in json.loads(sys.argv[1]).items():
            try:
                torch.load(path, weights_only=True)
            except pickle.UnpicklingError:
                refused[name] = True
            else:
                refused[name] = False
        print(json.dumps(refused))
        print('lwmm imported:', 'lwmm' in sys.modules)
    ''', json.dumps(paths))
    assert result.returncode == 0, result.stderr[-2000:]
    refused = json.loads(result.stdout.splitlines()[0])
    assert refused == {name: True for name in paths}
    assert 'lwmm imported: False' in result.stdout
    assert not marker.exists()


def test_plain_torch_refuses_the_crafted_files_with_lwmm_imported(crafted, statistics_table):
    import lwmm  # noqa: F401
    paths, marker = crafted
    for name, path in paths.items():
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, weights_only=True)
    assert not marker.exists()


def test_lwmm_load_paths_refuse_the_crafted_files(crafted, statistics_table, tmp_path):
    paths, marker = crafted
    runner = guard_runner_loads(toy_runner(tmp_path / 'runner'))
    for name, path in paths.items():
        with pytest.raises(pickle.UnpicklingError):
            load_checkpoint_file(path)
        with pytest.raises(ValueError, match=re.escape(f"checkpoint '{path}' cannot be loaded weights-only")):
            read_checkpoint(path)
        with pytest.raises(pickle.UnpicklingError):
            runner.load_checkpoint(path)
    assert not marker.exists()


def test_refusal_message_names_the_globals_and_what_to_do(crafted):
    paths, _ = crafted
    with pytest.raises(ValueError, match=r"holds builtins\.eval, which neither torch's weights-only loader nor "
                                         r'lwmm allows .*Only if you trust the file'):
        read_checkpoint(paths['eval'])
    with pytest.raises(ValueError, match=r"calls getattr\(getattr, '__self__'\).*mmengine never writes this"):
        read_checkpoint(paths['getattr chain to exec'])


def pickled_history_buffer_state(tmp_path, **state):
    """A checkpoint holding a HistoryBuffer pickled with ``state`` (mmengine's own __getstate__ otherwise)."""
    buffer = HistoryBuffer([1.0, 2.0], [1, 1])
    full = dict(buffer.__getstate__(), **state)
    # pickled as pickle writes any object (NEWOBJ, then BUILD with the state), with the state replaced
    buffer.__reduce_ex__ = lambda protocol: (copyreg.__newobj__, (HistoryBuffer, ), full)
    path = tmp_path / 'buffer.pth'
    torch.save(dict(message_hub=dict(log_scalars=dict(loss=buffer), runtime_info={}, resumed_keys={})), path)
    return str(path)


def test_a_pickled_history_buffer_cannot_extend_the_statistics_table(tmp_path, statistics_table):
    """HistoryBuffer.__setstate__ merges a file's table into the class's: the stand-in takes only the
    default names, whatever allowed object the file offers instead."""
    path = pickled_history_buffer_state(tmp_path, statistics_methods=dict(mean=np.dtype))
    with pytest.raises(pickle.UnpicklingError, match='statistics table names methods other than'):
        load_checkpoint_file(path)
    path = pickled_history_buffer_state(tmp_path, _log_history=np.zeros((2, 2)))
    with pytest.raises(pickle.UnpicklingError, match='not a 1-d numeric array'):
        load_checkpoint_file(path)
    path = pickled_history_buffer_state(tmp_path, _log_history=np.array([None, 'text'], dtype=object))
    with pytest.raises(pickle.UnpicklingError, match='ObjectDType'):  # only numeric dtypes are allowed
        load_checkpoint_file(path)
    path = pickled_history_buffer_state(tmp_path, extra=1)
    with pytest.raises(pickle.UnpicklingError, match=r"holds \['extra'\]"):
        load_checkpoint_file(path)


def test_scoped_globals_end_with_the_load_and_keep_a_users_own(tmp_path):
    before = torch.serialization.get_safe_globals()
    own = mmengine_globals()[0]
    torch.serialization.add_safe_globals([own])
    try:
        with pytest.raises(RuntimeError):
            with mmengine_checkpoint_globals():
                assert set(mmengine_globals()) <= set(torch.serialization.get_safe_globals())
                raise RuntimeError('a load that fails')
        assert set(torch.serialization.get_safe_globals()) == set(before) | {own}
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(before)


# checkpoints mmengine writes ---------------------------------------------------------------------------

def toy_runner(work_dir, max_epochs=1, resume=False, load_from=None, hooks=()):
    """An mmengine Runner of a two-weight model on eight samples (mmengine's own hooks unless given)."""
    import torch.nn as nn
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, inputs, labels=None, mode='loss'):
            return dict(loss=(self.fc(inputs).squeeze(1) - labels).pow(2).mean())

    generator = torch.Generator().manual_seed(0)
    data = [dict(inputs=torch.randn(2, generator=generator), labels=torch.randn((), generator=generator))
            for _ in range(8)]
    return Runner(
        model=Toy(), work_dir=str(work_dir), experiment_name=f'toy_{next(RUNS)}',  # a message hub each
        train_dataloader=dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=True), batch_size=4,
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1], by_epoch=True),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)), custom_hooks=list(hooks),
        randomness=dict(seed=1), resume=resume, load_from=load_from)


@pytest.fixture(scope='module')
def stock_checkpoint(tmp_path_factory):
    """epoch_1.pth of an mmengine Runner with mmengine's own hooks only."""
    work_dir = tmp_path_factory.mktemp('stock')
    toy_runner(work_dir).train()
    return str(work_dir / 'epoch_1.pth')


def test_stock_checkpoint_needs_lwmm_load_paths(stock_checkpoint):
    """What mmengine writes: HistoryBuffer with getattr-pickled statistics, numpy arrays and scalars; torch
    alone refuses it."""
    assert set(torch.serialization.get_unsafe_globals_in_checkpoint(stock_checkpoint)) >= {
        'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr', 'numpy.core.multiarray._reconstruct'}
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer|getattr|numpy'):
        torch.load(stock_checkpoint, weights_only=True)


def test_stock_checkpoint_loads_through_lwmm_with_its_message_hub(stock_checkpoint, statistics_table):
    trusted = torch.load(stock_checkpoint, weights_only=False)  # the test wrote it
    allowed = torch.serialization.get_safe_globals()
    checkpoint = load_checkpoint_file(stock_checkpoint)
    assert torch.serialization.get_safe_globals() == allowed
    assert checkpoint['meta']['epoch'] == 1 and 'fc.weight' in checkpoint['state_dict']
    expected, loaded = trusted['message_hub']['log_scalars'], checkpoint['message_hub']['log_scalars']
    assert list(loaded) == list(expected) and 'train/loss' in loaded
    for key, buffer in expected.items():
        assert isinstance(loaded[key], HistoryBuffer)
        for want, got in zip(buffer.data, loaded[key].data):
            np.testing.assert_array_equal(got, want)
            assert got.dtype == want.dtype
        assert loaded[key].max_length == buffer.max_length
        assert loaded[key].mean() == buffer.mean()
    assert checkpoint['message_hub']['runtime_info'] == trusted['message_hub']['runtime_info']


def test_runner_resume_and_load_from_of_a_stock_checkpoint(stock_checkpoint, tmp_path, statistics_table):
    """lwmm's guard (what build_runner applies) lets mmengine's own Runner resume and load the file."""
    trusted = torch.load(stock_checkpoint, weights_only=False)
    allowed = torch.serialization.get_safe_globals()
    bare = toy_runner(tmp_path / 'bare', max_epochs=2, resume=True, load_from=stock_checkpoint)
    with pytest.raises(pickle.UnpicklingError):
        bare.train()  # without lwmm's guard
    runner = guard_runner_loads(toy_runner(tmp_path / 'resumed', max_epochs=2, resume=True,
                                           load_from=stock_checkpoint))
    runner.train()
    assert runner.epoch == 2
    # the resumed run continued the stock run's loss history instead of starting a new one
    history = runner.message_hub.get_scalar('train/loss').data[0]
    np.testing.assert_array_equal(history[:2], trusted['message_hub']['log_scalars']['train/loss'].data[0])
    assert len(history) == 4

    loaded = guard_runner_loads(toy_runner(tmp_path / 'loaded', load_from=stock_checkpoint))
    loaded.load_checkpoint(stock_checkpoint)
    torch.testing.assert_close(loaded.model.fc.weight.data, trusted['state_dict']['fc.weight'])
    assert torch.serialization.get_safe_globals() == allowed


# checkpoints lwmm writes -------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def plain_checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('plain')
    toy_runner(work_dir, hooks=[dict(type='lwmm.PlainCheckpointHook')]).train()
    return str(work_dir / 'epoch_1.pth')


def test_plain_checkpoint_needs_no_allow_list(plain_checkpoint):
    assert torch.serialization.get_unsafe_globals_in_checkpoint(plain_checkpoint) == []
    result = run_python('import sys, torch; c = torch.load(sys.argv[1], weights_only=True); print(c["meta"]["epoch"])',
                        plain_checkpoint)
    assert result.stdout.strip() == '1', result.stderr[-2000:]


def test_plain_checkpoint_resumes_its_message_hub(plain_checkpoint, tmp_path):
    saved = torch.load(plain_checkpoint, weights_only=True)['message_hub']['log_scalars']['train/loss']
    runner = toy_runner(tmp_path / 'resumed', max_epochs=2, resume=True, load_from=plain_checkpoint,
                        hooks=[dict(type='lwmm.PlainCheckpointHook')])
    runner.train()
    history = runner.message_hub.get_scalar('train/loss').data[0]
    np.testing.assert_array_equal(history[:2], saved['log_history'].numpy())
    assert len(history) == 4


def test_hook_converts_numpy_scalars_without_touching_the_dataset_metainfo():
    metainfo = dict(classes=('a', 'b'), weights=[np.float32(0.5)])
    buffer = HistoryBuffer([0.5, 0.25], [1, 2], max_length=7)
    checkpoint = dict(meta=dict(dataset_meta=metainfo, seed=np.int64(3)),
                      message_hub=dict(log_scalars=dict(loss=buffer), runtime_info=dict(eta=np.float64(1.5)),
                                       resumed_keys={}))
    PlainCheckpointHook().before_save_checkpoint(None, checkpoint)
    assert type(checkpoint['meta']['seed']) is int and type(checkpoint['message_hub']['runtime_info']['eta']) is float
    assert checkpoint['meta']['dataset_meta'] == dict(classes=('a', 'b'), weights=[0.5])
    assert type(checkpoint['meta']['dataset_meta']['weights'][0]) is float
    assert type(metainfo['weights'][0]) is np.float32  # the dataset's own metainfo is left alone
    plain = checkpoint['message_hub']['log_scalars']['loss']
    assert plain['max_length'] == 7 and plain['log_history'].dtype == torch.float64

    PlainCheckpointHook().after_load_checkpoint(None, checkpoint)
    restored = checkpoint['message_hub']['log_scalars']['loss']
    assert isinstance(restored, HistoryBuffer) and restored.max_length == 7
    np.testing.assert_array_equal(restored.data[1], [1, 2])
    assert restored.mean() == buffer.mean()


# through lwmm's launch path ----------------------------------------------------------------------------

CLS_CONFIG = osp.join(ROOT, 'configs', 'demo', 'ghostnet-1.0x_shapes.py')
TINY = dict(model=dict(backbone=dict(widen_factor=0.1), head=dict(in_channels=96)))  # GhostNet 0.1x


@pytest.fixture
def ghostnet_in_mmengine_format(stock_checkpoint, tmp_path):
    """(tiny GhostNet classifier config, its weights, a checkpoint of them with mmengine's meta and message hub)."""
    from argparse import Namespace

    from mmengine.registry import MODELS, DefaultScope

    from lwmm.engine.launch import load_config
    cfg = load_config(Namespace(config=CLS_CONFIG, work_dir=str(tmp_path / 'work'), launcher='none', local_rank=0,
                                cfg_options=TINY))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        weights = MODELS.build(cfg.model).state_dict()
    checkpoint = torch.load(stock_checkpoint, weights_only=False)  # the test wrote it
    checkpoint['state_dict'] = weights
    path = str(tmp_path / 'ghostnet_mmengine_format.pth')
    torch.save(checkpoint, path)
    return cfg, weights, path


def test_build_runner_reads_a_checkpoint_in_mmengines_format(ghostnet_in_mmengine_format):
    """tools/test.py's and --resume's Runner (build_runner) loads what mmengine writes; mmengine's alone not."""
    from mmengine.runner import Runner

    from lwmm.engine.launch import build_runner
    cfg, weights, path = ghostnet_in_mmengine_format
    cfg.load_from = path
    with pytest.raises(pickle.UnpicklingError):
        Runner.from_cfg(cfg).load_checkpoint(path)
    runner = build_runner(cfg, strict_checkpoint=True)
    loaded = runner.load_checkpoint(path)  # the call Runner.test() and Runner.resume() make
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    for key, value in runner.model.state_dict().items():
        torch.testing.assert_close(value, weights[key])


def test_inference_loads_mmengines_format_and_refuses_crafted_files(ghostnet_in_mmengine_format, crafted,
                                                                    statistics_table):
    from lwmm.analysis.inference import load_model
    cfg, weights, path = ghostnet_in_mmengine_format
    model, _ = load_model(cfg, path)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, weights[key])
    paths, marker = crafted
    for name in ('HistoryBuffer table', 'getattr chain to os.system', 'eval'):
        with pytest.raises(pickle.UnpicklingError):
            load_model(cfg, paths[name])
    assert not marker.exists()


def test_export_tool_loads_mmengines_format_and_refuses_crafted_files(stock_checkpoint, crafted, tmp_path,
                                                                      statistics_table):
    spec = importlib.util.spec_from_file_location('export_onnx', osp.join(ROOT, 'tools', 'deploy', 'export_onnx.py'))
    export_onnx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export_onnx)
    _, model = export_onnx.build_model(CLS_CONFIG)
    weights = {key: value + 1 if value.is_floating_point() else value for key, value in model.state_dict().items()}
    checkpoint = torch.load(stock_checkpoint, weights_only=False)  # mmengine's meta and message hub
    checkpoint['state_dict'] = weights
    path = str(tmp_path / 'ghostnet_mmengine_format.pth')
    torch.save(checkpoint, path)
    _, loaded = export_onnx.build_model(CLS_CONFIG, path)
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, weights[key])
    paths, marker = crafted
    with pytest.raises(ValueError, match='could not be loaded'):
        export_onnx.build_model(CLS_CONFIG, paths['getattr chain to os.system'])
    assert not marker.exists()


def run_tool(cwd, tool, *args):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2', OMP_WAIT_POLICY='PASSIVE')
    result = subprocess.run([sys.executable, osp.join(ROOT, 'tools', tool), *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.slow
def test_tools_resume_and_test_a_stock_checkpoint_and_refuse_a_crafted_one(tmp_path):
    """tools/train.py writes a checkpoint the stock way (plain_checkpoint hook off), resumes from it, and
    tools/test.py evaluates it; a crafted file stops tools/test.py before anything runs."""
    from lwmm.datasets.shapes import make_shapes
    make_shapes(str(tmp_path / 'data' / 'shapes'), scale=0.06, seed=1)
    work_dir = str(tmp_path / 'work')
    tiny = ['model.backbone.widen_factor=0.1', 'model.head.in_channels=96']
    code, output = run_tool(tmp_path, 'train.py', CLS_CONFIG, '--work-dir', work_dir, '--no-validate', '--cfg-options',
                            'train_cfg.max_epochs=1', 'default_hooks.plain_checkpoint=None', *tiny)
    assert code == 0, output[-3000:]
    stock = osp.join(work_dir, 'epoch_1.pth')
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in torch.serialization.get_unsafe_globals_in_checkpoint(
        stock)

    code, output = run_tool(tmp_path, 'train.py', CLS_CONFIG, '--work-dir', work_dir, '--no-validate', '--resume',
                            stock, '--cfg-options', 'train_cfg.max_epochs=2', *tiny)
    assert code == 0, output[-3000:]
    assert 'resumed epoch: 1' in output and 'just skip resuming it' not in output, output[-3000:]
    assert torch.serialization.get_unsafe_globals_in_checkpoint(osp.join(work_dir, 'epoch_2.pth')) == []

    code, output = run_tool(tmp_path, 'test.py', CLS_CONFIG, stock, '--work-dir', work_dir, '--cfg-options', *tiny)
    assert code == 0 and 'accuracy/top1' in output, output[-3000:]

    paths, marker = write_crafted(tmp_path)
    code, output = run_tool(tmp_path, 'test.py', CLS_CONFIG, paths['getattr chain to os.system'], '--work-dir',
                            work_dir, '--cfg-options', *tiny)
    assert code != 0 and 'cannot be loaded weights-only' in output, output[-3000:]
    assert not marker.exists()
