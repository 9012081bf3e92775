"""Plot training curves of one or more runs from mmengine's scalar logs.

    python tools/analysis/plot_curves.py WORK_DIR_OR_SCALARS_JSON ... --keys loss bbox_mAP
                                         [--x iter|epoch] [--labels A B ...] --out curves.png

Each WORK_DIR's latest run that has <timestamp>/vis_data/scalars.json is read (or pass the file itself);
each key gets a panel, each run a line. Metrics may be named without their evaluator prefix
(bbox_mAP for coco/bbox_mAP). An unknown key is an error that lists the keys the logs hold.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('runs', nargs='+', help='work dirs or scalars.json files')
    parser.add_argument('--keys', nargs='+', default=['loss'], help='scalars to plot (default: loss)')
    parser.add_argument('--x', choices=['iter', 'epoch'], default='iter', help='x axis')
    parser.add_argument('--labels', nargs='+', help='legend names, one per run (default: work dir names)')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--dpi', type=int, default=80)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from lwmm.analysis.curves import plot_curves
    result = plot_curves(args.runs, args.keys, args.out, x=args.x, labels=args.labels, dpi=args.dpi)
    for (label, key), (xs, ys) in result['series'].items():
        print(f'{label} {key}: {len(xs)} points, first {ys[0]:.4g} last {ys[-1]:.4g}')
    print(f'wrote {result["out"]}')
    return result


if __name__ == '__main__':
    main()
