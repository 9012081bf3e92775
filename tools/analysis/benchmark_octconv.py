"""CPU latency of Oct-ResNet at each alpha next to ResNet, octave paths separate and merged (issue 17).

Every model is a classifier (backbone + global pool + 1000-way linear), randomly initialised, in eval mode,
timed in one process with a fixed thread count, in alternation over the models (robust to load changes on
a shared machine); the reference is timm's ``resnet{depth}`` where timm is installed. Prints markdown
tables: latency and MAC ratios, the MAC saving kept before/after merging, optionally ONNX Runtime at batch
1, and where batch 1 goes (operator calls, time in convs). Logic: ``lwmm.analysis.octconv_speed``.

Example (issue 17's setting: one thread, the calling thread's CPU time)::

    python tools/analysis/benchmark_octconv.py --threads 1 --clock cpu --batch-sizes 1 16 --onnxruntime
"""
import argparse

from lwmm.analysis.octconv_speed import benchmark, markdown


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--depth', type=int, default=50)
    parser.add_argument('--alphas', type=float, nargs='+', default=[0.125, 0.25, 0.5, 0.75])
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 16])
    parser.add_argument('--size', type=int, default=224, help='input height and width')
    parser.add_argument('--threads', type=int, default=1, help='torch (and ONNX Runtime) intra-op threads')
    parser.add_argument('--clock', choices=['cpu', 'wall'], default=None,
                        help="'cpu': the calling thread's CPU time (one thread only; robust on a shared "
                        "machine); 'wall': elapsed time. Default: cpu with one thread, else wall")
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=20, help='timed runs at batch 1')
    parser.add_argument('--large-batch-repeats', type=int, default=5, help='timed runs at larger batches')
    parser.add_argument('--memory-format', choices=['channels_last', 'contiguous'], default='channels_last',
                        help="layout of weights and activations for all models (NHWC is oneDNN's own)")
    parser.add_argument('--onnxruntime', action='store_true',
                        help='also time the BN-folded models exported to ONNX, at batch 1')
    parser.add_argument('--no-census', action='store_true', help='skip the operator census at batch 1')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.clock is None:
        args.clock = 'cpu' if args.threads == 1 else 'wall'
    result = benchmark(depth=args.depth, alphas=args.alphas, batch_sizes=args.batch_sizes, size=args.size,
                       threads=args.threads, clock=args.clock, warmup=args.warmup, repeats=args.repeats,
                       large_batch_repeats=args.large_batch_repeats,
                       channels_last=args.memory_format == 'channels_last', onnxruntime=args.onnxruntime,
                       census=not args.no_census, seed=args.seed, log=lambda line: print(line, flush=True))
    print()
    print(markdown(result))


if __name__ == '__main__':
    main()
