"""Print the final validation metrics of several runs side by side, from mmengine's scalar logs.

    python tools/analysis/compare_runs.py WORK_DIR ... [--labels A B ...] [--keys bbox_mAP bbox_mAP_50 ...]

Each WORK_DIR's latest run that has <timestamp>/vis_data/scalars.json is read (or pass the file itself,
see lwmm.analysis.curves); the last validation line of each run gives one column of a markdown table, one
row per key. Keys may be named without their evaluator prefix (bbox_mAP for coco/bbox_mAP). `make transfer`
uses it to print the transfer demo.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

DEFAULT_KEYS = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75')


def last_validation(entries, keys):
    """{key: value} of the last log line holding a metric of ``keys`` (validation lines have no ``iter``)."""
    from lwmm.analysis.curves import _matches
    for entry in reversed(entries):
        if 'iter' in entry:
            continue
        found = {key: next((entry[name] for name in entry if _matches(name, key)), None) for key in keys}
        if any(value is not None for value in found.values()):
            return found
    return None


def compare(paths, keys=DEFAULT_KEYS, labels=None) -> str:
    """The markdown table of the last validation metrics of each run in ``paths``."""
    from lwmm.analysis.curves import available_keys, find_scalars, read_scalars
    if labels is not None and len(labels) != len(paths):
        raise ValueError(f'labels: {len(labels)} given for {len(paths)} runs; give one per run or none.')
    labels = labels or [osp.basename(osp.normpath(path)) for path in paths]
    columns = []
    for path in paths:
        scalars = find_scalars(path)
        entries = read_scalars(scalars)
        values = last_validation(entries, keys)
        if values is None:
            raise ValueError(f'{scalars} has no validation line with any of {", ".join(keys)} (keys it '
                             f'holds: {", ".join(available_keys(entries))}); did the run reach its evaluation?')
        columns.append(values)
    lines = ['| metric | ' + ' | '.join(labels) + ' |', '|---' * (len(labels) + 1) + '|']
    for key in keys:
        cells = ['-' if column[key] is None else f'{column[key]:.3f}' for column in columns]
        lines.append(f'| {key} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('runs', nargs='+', help='work dirs or scalars.json files')
    parser.add_argument('--keys', nargs='+', default=list(DEFAULT_KEYS), help='metrics, one row each')
    parser.add_argument('--labels', nargs='+', help='column names, one per run (default: work dir names)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    table = compare(args.runs, args.keys, args.labels)
    print(table)
    return table


if __name__ == '__main__':
    main()
