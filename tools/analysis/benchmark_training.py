"""Training images/s of lwmm's timm twins against timm: eager, channels-last and torch.compile.

A thin front end over ``lwmm.analysis.training_speed``: each pair (lwmm classifier, timm model) trains on
one random batch at the lwmm config's input size, every model and mode of a pair in alternation in one
process, median step time. Prints one markdown table and writes the records as JSON.

``--operators inference|train`` prints instead, per twin, the operators whose call counts differ from timm's
(torch.profiler, one inference forward or one training step at ``--batch``, in the first of ``--modes``): what
is left to attribute a gap to.

Example::

    python tools/analysis/benchmark_training.py --twins ghostnet_100 mobilevit_xxs --batch 16 --repeats 10
    python tools/analysis/benchmark_training.py --twins ghostnet_100 ghostnetv2_100 --operators inference --batch 1
"""
import argparse
import json
import os
import os.path as osp

from lwmm.analysis.training_speed import DEFAULT_TWINS, MODES, compare_operators, compare_training, markdown


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--twins', nargs='+', default=list(DEFAULT_TWINS),
                        help='timm models with an lwmm twin (ghostnet*, ghostnetv2*, mobilevit*)')
    parser.add_argument('--modes', nargs='+', choices=MODES, default=list(MODES))
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--size', type=int, default=None, help="input side (default: the lwmm config's)")
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps of each model and mode')
    parser.add_argument('--repeats', type=int, default=10, help='timed steps of each model and mode')
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    parser.add_argument('--clock', choices=['cpu', 'wall'], default='cpu',
                        help="'cpu': the timing thread's CPU time (needs --threads 1); 'wall' otherwise")
    parser.add_argument('--operators', choices=['inference', 'train'], default=None,
                        help='print the operators whose call counts differ from timm instead of timing')
    parser.add_argument('--out', default='work_dirs/benchmark_training/latest.json')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.operators:
        for twin in args.twins:
            print(f'\n{twin}: operators whose calls differ ({args.operators}, {args.modes[0]}, batch {args.batch}; '
                  'self CPU us per run, one shared machine)\n\n'
                  '| operator | lwmm calls | timm calls | lwmm us | timm us |\n|---|---|---|---|---|')
            for row in compare_operators(twin, args.batch, args.size, train=args.operators == 'train',
                                         mode=args.modes[0]):
                print(f"| {row['operator']} | {row['lwmm_calls']} | {row['timm_calls']} | {row['lwmm_us']:.0f} | "
                      f"{row['timm_us']:.0f} |")
        return
    records = compare_training(args.twins, args.modes, batch=args.batch, size=args.size, warmup=args.warmup,
                               repeats=args.repeats, threads=args.threads, clock=args.clock)
    print(markdown(records))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(args=vars(args), records=records), f, indent=1)
    print(f'records: {args.out}')


if __name__ == '__main__':
    main()
