"""lwmm.analysis.training_speed: training steps per mode, alternating timing, twin pairing and the table."""
import itertools
import os.path as osp
import uuid

import pytest
import torch
import torch.nn as nn

from lwmm.analysis import training_speed
from lwmm.analysis.training_speed import TrainStep, compare_training, markdown, time_steps, twin_config


def tiny_classifier():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 5))


def batch():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(4, 3, 8, 8, generator=generator), torch.randint(0, 5, (4, ), generator=generator)


@pytest.mark.parametrize('mode', ['eager', 'channels_last'])
def test_train_step_updates_the_weights_in_its_memory_format(mode):
    model = tiny_classifier()
    before = model[0].weight.detach().clone()
    step = TrainStep(model, *batch(), mode=mode)
    loss = step()
    assert torch.isfinite(loss)
    assert not torch.equal(model[0].weight, before)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last) == (mode == 'channels_last')
    assert step.inputs.is_contiguous(memory_format=torch.channels_last) == (mode == 'channels_last')


def test_train_steps_of_all_modes_compute_the_same_update():
    # same start, same batch: channels_last and compile change the speed, not the step
    from torch._dynamo import register_backend
    backend = f'lwmm_test_eager_{uuid.uuid4().hex[:8]}'
    register_backend(name=backend)(lambda graph_module, example_inputs: graph_module.forward)
    start = tiny_classifier()
    weights = {}
    try:
        for mode in training_speed.MODES:
            model = tiny_classifier()
            model.load_state_dict(start.state_dict())
            step = TrainStep(model, *batch(), mode=mode, compile_kwargs=dict(backend=backend))
            step()
            step()
            weights[mode] = model[0].weight.detach().contiguous()
    finally:
        torch._dynamo.reset()
    torch.testing.assert_close(weights['channels_last'], weights['eager'], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(weights['compile'], weights['eager'], rtol=1e-5, atol=1e-6)


def test_compile_mode_goes_through_torch_compile():
    from torch._dynamo import register_backend
    graphs = []
    backend = f'lwmm_test_record_{uuid.uuid4().hex[:8]}'

    @register_backend(name=backend)
    def record(graph_module, example_inputs):
        graphs.append(graph_module)
        return graph_module.forward

    try:
        TrainStep(tiny_classifier(), *batch(), mode='compile', compile_kwargs=dict(backend=backend))()
    finally:
        torch._dynamo.reset()
    assert graphs


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match=r"mode='nhwc' is not known: use one of \('eager', 'channels_last', "):
        TrainStep(tiny_classifier(), *batch(), mode='nhwc')


def test_time_steps_alternates_and_times_each():
    calls = []
    ticks = itertools.count()

    def clock():
        return float(next(ticks))

    def make(name):
        return lambda: calls.append(name)

    samples = time_steps([make('a'), make('b')], warmup=1, repeats=3, clock=clock)
    assert calls == ['a', 'b'] * 4  # warm-up round, then three alternating rounds
    assert samples == [[1.0] * 3, [1.0] * 3]
    with pytest.raises(ValueError, match='repeats=0'):
        time_steps([make('a')], warmup=0, repeats=0, clock=clock)


def test_twin_config_finds_the_lwmm_config_and_refuses_non_twins(repo_root):
    assert twin_config('ghostnet_100') == osp.join(str(repo_root), 'configs', 'cls', 'ghostnet-1.0x_in1k.py')
    assert osp.isfile(twin_config('mobilevit_xxs'))
    with pytest.raises(ValueError, match='has no converter'):
        twin_config('resnet_nonexistent')


def test_compare_training_pairs_lwmm_with_timm_and_computes_ratios():
    log = []
    threads = torch.get_num_threads()
    records = compare_training(['ghostnet_050'], modes=('eager', 'channels_last'), batch=2, size=32, warmup=0,
                               repeats=2, clock='wall', threads=threads + 1, log=log.append)
    assert torch.get_num_threads() == threads  # the caller's thread count is restored
    assert [(r['side'], r['mode']) for r in records] == [('lwmm', 'eager'), ('timm', 'eager'),
                                                          ('lwmm', 'channels_last'), ('timm', 'channels_last')]
    assert records[0]['model'].endswith('configs/cls/ghostnet-0.5x_in1k.py')
    assert records[1]['model'] == 'timm:ghostnet_050'
    for record in records:
        assert record['input_size'] == [32, 32] and record['batch'] == 2
        assert record['images_per_s'] == pytest.approx(2 / (record['step_ms'] / 1e3))
    assert records[1]['vs_timm'] == 1.0 and records[0]['vs_eager'] == 1.0
    assert records[0]['vs_timm'] == pytest.approx(records[0]['images_per_s'] / records[1]['images_per_s'])
    assert records[2]['vs_eager'] == pytest.approx(records[2]['images_per_s'] / records[0]['images_per_s'])
    table = markdown(records)
    assert table.splitlines()[2].startswith('| ghostnet_050 | 32 | 2 | eager | ')
    assert table.splitlines()[3].startswith('| ghostnet_050 | 32 | 2 | channels_last | ')
    assert f"| {records[2]['vs_timm']:.3f} |" in table.splitlines()[3]
    assert 'ghostnet_050: 4 steps in alternation, batch 2, 32x32' in log[0]


def test_compare_training_refuses_bad_modes_and_clock():
    with pytest.raises(ValueError, match=r"modes=\['fast'\]"):
        compare_training(['ghostnet_050'], modes=['fast'])
    with pytest.raises(ValueError, match="clock='cpu' measures the calling thread only, but threads=2"):
        compare_training(['ghostnet_050'], modes=['eager'], threads=2, clock='cpu')


def test_operator_counts_are_per_run():
    x = torch.randn(4)

    def fn():
        torch.relu(x)
        torch.relu(x)
        torch.sigmoid(x)

    counts = training_speed.operator_counts(fn, runs=3)
    assert counts['aten::relu'][0] == 2 and counts['aten::sigmoid'][0] == 1


def test_compare_operators_lists_only_differing_counts():
    rows = training_speed.compare_operators('ghostnet_050', batch=1, size=32, runs=1)
    assert rows and all(r['lwmm_calls'] != r['timm_calls'] for r in rows)
    assert 'aten::batch_norm' not in {r['operator'] for r in rows}  # both call it once per conv-norm-act


def test_disable_dropout_switches_modules_and_timm_head_rates_off():
    model = nn.Sequential(nn.Dropout(0.1), nn.Dropout2d(0.0), nn.Linear(2, 2))
    model.drop_rate = 0.2  # timm's functional head dropout
    assert training_speed.disable_dropout(model) == 2
    assert model[0].p == 0.0 and model.drop_rate == 0.0
    x = torch.ones(64, 2)
    assert torch.equal(model.train()[0](x), x)
    assert training_speed.disable_dropout(model) == 0


def test_compare_operators_refuses_compile():
    with pytest.raises(ValueError, match="mode='compile': compare_operators takes"):
        training_speed.compare_operators('ghostnet_050', mode='compile')
