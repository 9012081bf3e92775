"""What a conv-norm-act module costs per call, and GhostNet's batch-1 latency built with each kind.

Measures, in one run with the kinds alternating (``lwmm.analysis.timing.time_interleaved``), one thread
(CPU time of that thread by default), eval mode, random weights:

- per call: a GhostNet-size layer (a Ghost module's primary 1x1 conv, 40 -> 60 channels + BN + ReLU at
  28x28, batch 1) as each kind, ``--calls`` calls per timed sample, and the bare ``F.conv2d``,
  ``F.batch_norm``, ``F.relu`` it runs (what the module adds is the difference);
- per network: the GhostNet 1.0x backbone at 224x224, batch 1, built with each kind in place of lwmm's
  ``ConvNormAct`` (the 80 conv-norm-act calls of its forward), and timm's ``ghostnet_100``
  ``forward_features`` (the same network: stem to the 960-channel conv).

A kind is ``module:Class`` taking ConvModule's arguments; the defaults are mmcv's ``ConvModule`` and
lwmm's ``ConvNormAct``. docs/conv_norm_act.md holds the figures and the decision they support.

Example::

    python tools/analysis/benchmark_conv_norm_act.py --repeats 40
"""
import argparse
import importlib
import os
import statistics

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

DEFAULT_KINDS = ('mmcv.cnn:ConvModule', 'lwmm.models.layers.conv_norm_act:ConvNormAct')


def load_kind(path: str):
    module, _, name = path.partition(':')
    if not name:
        raise ValueError(f'--kinds {path!r}: write module:Class, e.g. mmcv.cnn:ConvModule')
    return getattr(importlib.import_module(module), name)


def build_ghostnet(kind):
    """GhostNet 1.0x with ``kind`` wherever lwmm builds a ``ConvNormAct`` (same weights layout)."""
    from lwmm.models.backbones import ghostnet
    from lwmm.models.layers import dfc_attention, ghost
    namespaces = (ghost, dfc_attention, ghostnet)
    saved = [namespace.ConvNormAct for namespace in namespaces]
    try:
        for namespace in namespaces:
            namespace.ConvNormAct = kind
        return ghostnet.GhostNet(widen_factor=1.0).eval()
    finally:
        for namespace, original in zip(namespaces, saved):
            namespace.ConvNormAct = original


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--kinds', nargs='+', default=list(DEFAULT_KINDS), help='module:Class of each kind')
    parser.add_argument('--repeats', type=int, default=40, help='timed samples of each kind')
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--calls', type=int, default=200, help='layer calls per timed sample')
    parser.add_argument('--clock', choices=['cpu', 'wall'], default='cpu',
                        help="'cpu' (default): CPU time of the one timing thread, which a shared machine's load "
                        'disturbs less than the wall clock')
    args = parser.parse_args(argv)

    import timm
    import torch
    import torch.nn.functional as F

    from lwmm.analysis.timing import get_clock, time_interleaved
    torch.set_num_threads(1)
    torch.manual_seed(0)
    kinds = {path: load_kind(path) for path in args.kinds}

    x = torch.randn(1, 40, 28, 28)
    layers = {name: kind(40, 60, 1, norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU')).eval()
              for name, kind in kinds.items()}
    reference = next(iter(layers.values()))
    conv, norm = reference.conv, reference.norm

    def bare():
        return F.relu(F.batch_norm(F.conv2d(x, conv.weight), norm.running_mean, norm.running_var, norm.weight,
                                   norm.bias, False, 0.0, norm.eps), inplace=True)

    def repeated(fn):
        def run():
            for _ in range(args.calls):
                fn()
        return run

    names = ['bare F.conv2d + F.batch_norm + F.relu'] + list(layers)
    fns = [repeated(bare)] + [repeated(lambda layer=layer: layer(x)) for layer in layers.values()]
    clock = get_clock(args.clock)
    samples = time_interleaved(fns, args.warmup, args.repeats, clock)
    per_call = {name: statistics.median(s) / args.calls * 1e6 for name, s in zip(names, samples)}
    floor = per_call[names[0]]
    print(f'Per call, 1x1 conv 40 -> 60 + BN + ReLU at 28x28, batch 1, 1 thread, {args.clock} clock; median of '
          f'{args.repeats} samples of {args.calls} calls:\n')
    print('| kind | us / call | added to the bare ops (us) |\n|---|---|---|')
    for name in names:
        print(f'| {name} | {per_call[name]:.1f} | {per_call[name] - floor:+.1f} |')

    image = torch.randn(1, 3, 224, 224)
    networks = {name: build_ghostnet(kind) for name, kind in kinds.items()}
    networks['timm ghostnet_100'] = timm.create_model('ghostnet_100').eval()
    counts = {name: sum(isinstance(m, kinds[name]) for m in net.modules()) for name, net in networks.items()
              if name in kinds}
    fns = [lambda net=net: net(image) for name, net in networks.items() if name in kinds]
    fns.append(lambda: networks['timm ghostnet_100'].forward_features(image))
    samples = time_interleaved(fns, args.warmup, args.repeats, clock)
    latency = {name: statistics.median(s) * 1e3 for name, s in zip(networks, samples)}
    timm_ms = latency['timm ghostnet_100']
    print(f'\nGhostNet 1.0x backbone (timm: forward_features), 224x224, batch 1, 1 thread, {args.clock} clock; '
          f'median of {args.repeats}, alternating:\n')
    print('| built with | conv-norm-act modules | ms | / timm |\n|---|---|---|---|')
    for name, ms in latency.items():
        print(f'| {name} | {counts.get(name, "-")} | {ms:.2f} | {ms / timm_ms:.3f} |')


if __name__ == '__main__':
    main()
