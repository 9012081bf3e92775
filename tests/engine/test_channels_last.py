"""lwmm.ChannelsLastHook and mmengine's ``compile`` switch: a config turns them on, a Runner trains with them."""
import uuid

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.runner import Runner

from lwmm.engine.channels_last import ChannelsLastHook, to_channels_last
from lwmm.registry import HOOKS

CHANNELS_LAST = torch.channels_last


class TinyConvNet(BaseModel):
    """conv-BN-ReLU, conv, pool, linear; records the memory format of its first conv's output."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.conv = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.fc = nn.Linear(8, 4)
        self.stem_channels_last = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = self.stem(torch.stack(inputs) if isinstance(inputs, list) else inputs)
        self.stem_channels_last.append(x.is_contiguous(memory_format=CHANNELS_LAST))
        logits = self.fc(self.conv(x).mean((2, 3)))
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, torch.stack(data_samples)))
        return logits


def make_runner(work_dir, **cfg):
    dataset = [dict(inputs=torch.randn(3, 8, 8), data_samples=torch.tensor(i % 4)) for i in range(4)]
    return Runner(
        model=TinyConvNet(), work_dir=str(work_dir), experiment_name=f'channels_last_{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=dataset, batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=1), default_hooks=dict(checkpoint=None, logger=None),
        log_level='WARNING',
        default_scope='mmengine', cfg=dict(cfg), **{k: v for k, v in cfg.items() if k == 'custom_hooks'})


def test_to_channels_last_converts_weights_and_the_activations_follow():
    model = TinyConvNet().eval()
    assert to_channels_last(model) == 2  # the two conv weights; BN and linear tensors are not 4-d
    assert model.stem[0].weight.is_contiguous(memory_format=CHANNELS_LAST)
    assert not model.stem[0].weight.is_contiguous()
    with torch.no_grad():
        model(torch.randn(2, 3, 8, 8))  # an NCHW input: the first conv's channels_last weight sets the layout
    assert model.stem_channels_last == [True]


def test_hook_is_registered_in_lwmm_and_runs_first():
    assert HOOKS.get('lwmm.ChannelsLastHook') is ChannelsLastHook
    assert ChannelsLastHook.priority == 'VERY_HIGH'  # before EMAHook copies the model


def test_runner_with_the_hook_trains_in_channels_last(tmp_path):
    runner = make_runner(tmp_path, custom_hooks=[dict(type='lwmm.ChannelsLastHook')])
    parameters = list(runner.model.parameters())
    before = runner.model.stem[0].weight.detach().clone()
    runner.train()
    model = runner.model
    assert [p is q for p, q in zip(parameters, model.parameters())] == [True] * len(parameters)
    assert model.stem[0].weight.is_contiguous(memory_format=CHANNELS_LAST)
    assert model.stem_channels_last == [True]  # one training iteration, in channels_last
    assert not torch.equal(model.stem[0].weight, before)  # the optimizer updated the converted weights
    momentum = runner.optim_wrapper.optimizer.state[model.stem[0].weight]['momentum_buffer']
    assert momentum.is_contiguous(memory_format=CHANNELS_LAST)


def test_runner_without_the_hook_stays_contiguous(tmp_path):
    runner = make_runner(tmp_path)
    runner.train()
    assert runner.model.stem_channels_last == [False]
    assert runner.model.stem[0].weight.is_contiguous()


def test_compile_switch_runs_train_step_through_torch_compile(tmp_path):
    # mmengine's ``compile`` config key, with a backend that records each graph dynamo hands it and runs it
    # eagerly (inductor would compile C++ for a minute: the switch, not the compiler, is what is tested here)
    from torch._dynamo import register_backend
    graphs = []
    backend = f'lwmm_test_record_{uuid.uuid4().hex[:8]}'

    @register_backend(name=backend)
    def record(graph_module, example_inputs):
        graphs.append(graph_module)
        return graph_module.forward

    runner = make_runner(tmp_path, compile=dict(backend=backend), custom_hooks=[dict(type='lwmm.ChannelsLastHook')])
    try:
        runner.train()
    finally:
        torch._dynamo.reset()
    assert hasattr(runner.model.train_step, '_torchdynamo_orig_callable')  # mmengine replaced it by the compiled one
    assert graphs, 'torch.compile captured no graph of train_step'
    assert any(node.target in (F.conv2d, torch.conv2d) or 'conv' in str(node.target)
               for graph in graphs for node in graph.graph.nodes)
    assert runner.model.stem[0].weight.is_contiguous(memory_format=CHANNELS_LAST)
    assert runner.iter == 1
