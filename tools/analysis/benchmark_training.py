"""Training images/s of lwmm's timm twins against timm: eager, channels-last and torch.compile.

A thin front end over ``lwmm.analysis.training_speed``: each pair (lwmm classifier, timm model) trains on
one random batch at the lwmm config's input size, every model and mode of a pair in alternation in one
process, median step time. Prints one markdown table and writes the records as JSON.

Example::

    python tools/analysis/benchmark_training.py --twins ghostnet_100 mobilevit_xxs --batch 16 --repeats 10
"""
import argparse
import json
import os
import os.path as osp

from lwmm.analysis.training_speed import DEFAULT_TWINS, MODES, compare_training, markdown


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
    parser.add_argument('--out', default='work_dirs/benchmark_training/latest.json')
    return parser.parse_args()


def main():
    args = parse_args()
    records = compare_training(args.twins, args.modes, batch=args.batch, size=args.size, warmup=args.warmup,
                               repeats=args.repeats, threads=args.threads, clock=args.clock)
    print(markdown(records))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(args=vars(args), records=records), f, indent=1)
    print(f'records: {args.out}')


if __name__ == '__main__':
    main()
