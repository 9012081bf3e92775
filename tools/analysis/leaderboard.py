"""The Fashion-MNIST leaderboard (lwmm.analysis.leaderboard): each family against its paper's baseline,
trained and tested through tools/train.py and tools/test.py for each seed, with params, multiply-adds and
CPU latency; writes OUT.md (table) and OUT.png (accuracy against multiply-adds) and OUT.json (every run).

    python tools/analysis/leaderboard.py [--seeds 0 1 2] [--train-subset 20000] [--epochs 1]
        [--test-subset N] [--pairs N ...] [--work-dir work_dirs/leaderboard] [--out docs/real_data_leaderboard]

Finished runs (work dir's result.json with the same options) are reused, so a stopped leaderboard resumes.
Needs the data of tools/fetch_data.sh (`make data`).
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)


def main(argv=None):
    from lwmm.analysis import leaderboard as lb
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--train-subset', type=int, default=20000,
                        help='first N training images (0: all 60,000; default 20,000)')
    parser.add_argument('--epochs', type=int, default=1, help='epochs of the one-cycle schedule (default 1)')
    parser.add_argument('--test-subset', type=int, default=0, help='first N test images (0: all 10,000)')
    parser.add_argument('--pairs', type=int, nargs='+', metavar='N',
                        help='indices of the pairs to run (default all): ' +
                        '; '.join(f'{i}: {p[0]}' for i, p in enumerate(lb.PAIRS)))
    parser.add_argument('--latency-repeats', type=int, default=30)
    parser.add_argument('--work-dir', default='work_dirs/leaderboard')
    parser.add_argument('--out', default='docs/real_data_leaderboard', help='OUT.md, OUT.png and OUT.json')
    args = parser.parse_args(argv)
    if args.pairs and not all(0 <= i < len(lb.PAIRS) for i in args.pairs):
        parser.error(f'--pairs {args.pairs}: indices go from 0 to {len(lb.PAIRS) - 1}')
    pairs = [lb.PAIRS[i] for i in args.pairs] if args.pairs else list(lb.PAIRS)
    from mmengine.config import Config
    records = []
    for config in lb.leaderboard_configs(pairs):
        cfg = Config.fromfile(osp.join(ROOT, lb.CONFIG_DIR, config))
        options = lb.budget_options(cfg, args.train_subset or None, args.epochs, args.test_subset or None)
        for seed in args.seeds:
            work_dir = osp.join(args.work_dir, config[:-3], f'seed{seed}')
            record = lb.train_and_test(config, seed, work_dir, options, root=ROOT)
            print(f'{config} seed {seed}: top-1 {record["top1"]:.2f} %, training {record["train_s"]:.0f} s',
                  flush=True)
            records.append(record)
    stats = lb.complexity_and_latency(lb.leaderboard_configs(pairs), repeats=args.latency_repeats, root=ROOT)
    rows = lb.summarize_runs(records, stats)
    budget = (f'{args.train_subset or 60000} training images, {args.epochs} epoch(s), '
              f'{args.test_subset or 10000} test images, 32x32, seeds {" ".join(map(str, args.seeds))}')
    table = lb.markdown_table(rows, pairs)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out + '.md', 'w') as f:
        f.write(f'Fashion-MNIST leaderboard: {budget}; {platform.processor() or platform.machine()}, '
                f'{os.cpu_count()} cores; latency: one image, one thread, median of {args.latency_repeats}.\n\n'
                f'Command: python tools/analysis/leaderboard.py {" ".join(argv if argv is not None else sys.argv[1:])}'
                f'\n\n{table}')
    with open(args.out + '.json', 'w') as f:
        json.dump(dict(budget=budget, runs=records, rows=rows), f, indent=1)
    lb.plot_accuracy_vs_macs(rows, args.out + '.png', f'Fashion-MNIST, {budget}', pairs)
    print(table)
    print(f'written: {args.out}.md, {args.out}.png, {args.out}.json')


if __name__ == '__main__':
    main()
