"""CPU latency of Oct-ResNet at each alpha next to ResNet-50, with the latency and MAC ratios.

Every model is a classifier (backbone + global pool + 1000-way linear), built randomly initialised in
eval mode, and run in one process with a fixed thread count; for each batch size: ``--warmup`` runs, then
the median of ``--repeats`` timed runs, taken round-robin over the models
(robust to load changes on a shared machine). Alpha 0 is the vanilla ResNet (``OctResNet(alpha=0)`` is exactly
mmpretrain's ResNet, see tests). Prints a markdown table.

Example::

    python tools/analysis/benchmark_octconv.py --threads 2 --batch-sizes 1 16 --repeats 10

On a shared machine run it while nothing else is busy: an octave network issues about 3x more (smaller)
operators than ResNet-50, and every one of them waits on preempted OpenMP threads.
"""
import argparse
import functools
import statistics

import torch
import torch.nn as nn

from lwmm.analysis import count_complexity
from lwmm.analysis.timing import time_interleaved
from lwmm.models.backbones.oct_resnet import OctResNet


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--depth', type=int, default=50)
    parser.add_argument('--alphas', type=float, nargs='+', default=[0.125, 0.25, 0.5, 0.75])
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 16])
    parser.add_argument('--size', type=int, default=224, help='input height and width')
    parser.add_argument('--threads', type=int, default=2, help='torch intra-op threads (fixed)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--memory-format', choices=['channels_last', 'contiguous'], default='channels_last',
                        help='layout of weights and activations for all models; NHWC is oneDNN\'s native '
                        'layout and spares each conv two reorders, which matters for the many smaller '
                        'convs of an octave network')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


class Classifier(nn.Module):
    """Backbone + global average pool + linear, the network the papers count."""

    def __init__(self, backbone: nn.Module, channels: int, num_classes: int = 1000):
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(self.backbone(x)[-1].mean((2, 3)))


def build(depth: int, alpha: float) -> nn.Module:
    backbone = OctResNet(depth=depth, alpha=alpha)
    return Classifier(backbone, backbone.stage_channels[-1]).eval()


def main():
    args = parse_args()
    args.channels_last = args.memory_format == 'channels_last'
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    alphas = [0.0] + [a for a in args.alphas if a != 0]
    models, macs = [], []
    for alpha in alphas:
        model = build(args.depth, alpha)
        macs.append(count_complexity(model, (1, 3, args.size, args.size))['macs'])
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
        models.append(model)
    times = [[] for _ in alphas]
    for batch in args.batch_sizes:
        inputs = torch.randn(batch, 3, args.size, args.size)
        if args.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        # round-robin over the models, so load changes on a shared machine hit all of them alike
        samples = time_interleaved([functools.partial(model, inputs) for model in models], args.warmup,
                                   args.repeats)
        for index, alpha in enumerate(alphas):
            times[index].append(statistics.median(samples[index]) * 1e3)
            print(f'alpha={alpha}: {macs[index] / 1e9:.3f} GMACs, batch {batch}: {times[index][-1]:.1f} ms',
                  flush=True)
    rows = list(zip(alphas, macs, times))

    base_macs, base_times = rows[0][1], rows[0][2]
    print(f'\nOct-ResNet-{args.depth} vs ResNet-{args.depth} (alpha 0), CPU, {args.threads} threads, '
          f'{args.size}x{args.size}, median of {args.repeats} runs after {args.warmup} warm-up'
          f', {args.memory_format}, torch {torch.__version__}\n')
    header = '| model | alpha | GMACs | MAC ratio |'
    rule = '|---|---|---|---|'
    for batch in args.batch_sizes:
        header += f' batch {batch} (ms) | latency ratio |'
        rule += '---|---|'
    print(header)
    print(rule)
    for alpha, macs, times in rows:
        name = f'ResNet-{args.depth}' if alpha == 0 else f'Oct-ResNet-{args.depth}'
        line = f'| {name} | {alpha:g} | {macs / 1e9:.3f} | {macs / base_macs:.3f} |'
        for t, base in zip(times, base_times):
            line += f' {t:.1f} | {t / base:.3f} |'
        print(line)
    print('\nSaving kept at each alpha (1 - latency ratio) / (1 - MAC ratio):')
    for alpha, macs, times in rows[1:]:
        kept = ', '.join(f'batch {b}: {(1 - t / base) / (1 - macs / base_macs):.2f}'
                         for b, t, base in zip(args.batch_sizes, times, base_times))
        print(f'- alpha {alpha:g}: {kept}')


if __name__ == '__main__':
    main()
