"""The model-zoo table: params and multiply-adds of every config, measured, beside the papers' figures.

    python tools/analysis/model_zoo.py                           # print the classification table
    python tools/analysis/model_zoo.py --write docs/model_zoo.md # replace the table between the markers
    python tools/analysis/model_zoo.py --all                     # detection and segmentation too

Params and MACs are :func:`lwmm.analysis.config_complexity` on each config's model at its default input
(see tools/analysis/get_flops.py). Latency comes from ``work_dirs/benchmark/latest.json`` when that file
exists (a benchmark's output: ``{config: ms}``, ``{config: {"latency_ms": ms}}`` or a list of records
with ``config`` and ``latency_ms``; of records that carry ``mode`` and ``batch``, those of eager mode at
batch 1), else '-'. ``--write FILE`` replaces the text between
``<!-- model-zoo:start -->`` and ``<!-- model-zoo:end -->`` in FILE and fails if either is missing.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

START_MARKER = '<!-- model-zoo:start -->'
END_MARKER = '<!-- model-zoo:end -->'
LATENCY_FILE = osp.join('work_dirs', 'benchmark', 'latest.json')

_GHOSTNET = 'GhostNet (Han et al., CVPR 2020)'
_GHOSTNETV2 = 'GhostNetV2 (Tang et al., NeurIPS 2022)'
_MOBILEVIT = 'MobileViT (Mehta & Rastegari, ICLR 2022; MACs about, attention counted)'
_DYCNN = 'Dynamic Convolution (Chen et al., CVPR 2020)'
_DYCNN_RESNET = ('Dynamic Convolution (Chen et al., CVPR 2020; its ResNet params, 42.7 / 18.6 "M", are units of 2^20 '
                 '-- its ResNet-18/10 baselines "11.1M" / "5.2M" are the standard networks so counted -- shown here in 10^6)')
#: the DY-CNN paper's ResNet parameter counts are in units of 2^20 (see docs/dynamic_conv.md)
_MEBI = 2 ** 20 / 1e6
_OCTCONV = 'OctConv (Chen et al., ICCV 2019; Oct-ResNet-50 MACs about, alpha 0.5 from the official README: 2.367G)'

#: Published figures per config: (model name, params in M, MACs in M, source), as listed in the design
#: document (/work/shared/DESIGN.md, "Published numbers to match"); None where the paper has no such
#: model. Approximate MACs (MobileViT, Oct-ResNet-50) are the papers' rounded figures.
PUBLISHED = {
    'ghostnet-0.5x_in1k': ('GhostNet 0.5x', 2.6, 42, _GHOSTNET),
    'ghostnet-1.0x_in1k': ('GhostNet 1.0x', 5.2, 141, _GHOSTNET),
    'ghostnet-1.3x_in1k': ('GhostNet 1.3x', 7.3, 226, _GHOSTNET),
    'ghostnetv2-1.0x_in1k': ('GhostNetV2 1.0x', 6.1, 167, _GHOSTNETV2),
    'ghostnetv2-1.3x_in1k': ('GhostNetV2 1.3x', 8.9, 269, _GHOSTNETV2),
    'ghostnetv2-1.6x_in1k': ('GhostNetV2 1.6x', 12.3, 399, _GHOSTNETV2),
    'mobilevit-xxs_in1k': ('MobileViT-XXS', 1.3, 420, _MOBILEVIT),
    'mobilevit-xs_in1k': ('MobileViT-XS', 2.3, 1050, _MOBILEVIT),
    'mobilevit-s_in1k': ('MobileViT-S', 5.6, 2030, _MOBILEVIT),
    'dy-mobilenetv2-1.0x_in1k': ('DY-MobileNetV2 x1.0', 11.1, 312.9, _DYCNN),
    'dy-mobilenetv2-0.75x_in1k': ('DY-MobileNetV2 x0.75', 7.0, 217.5, _DYCNN),
    'dy-mobilenetv2-0.5x_in1k': ('DY-MobileNetV2 x0.5', 4.0, 101.4, _DYCNN),
    'dy-mobilenetv2-0.35x_in1k': ('DY-MobileNetV2 x0.35', 2.8, 62.0, _DYCNN),
    'dy-mobilenetv3-small_in1k': ('DY-MobileNetV3-Small', 4.8, 68.5, _DYCNN),
    'dy-mobilenetv3-large_in1k': ('DY-MobileNetV3-Large', None, None, None),  # not in the paper
    'dy-resnet18_in1k': ('DY-ResNet-18', round(42.7 * _MEBI, 2), 1850, _DYCNN_RESNET),
    'dy-resnet10_in1k': ('DY-ResNet-10', round(18.6 * _MEBI, 2), 910, _DYCNN_RESNET),
    'oct-resnet50-a0.125_in1k': ('Oct-ResNet-50 (alpha 0.125)', 25.6, 3600, _OCTCONV),
    'oct-resnet50-a0.25_in1k': ('Oct-ResNet-50 (alpha 0.25)', 25.6, 3100, _OCTCONV),
    'oct-resnet50-a0.5_in1k': ('Oct-ResNet-50 (alpha 0.5)', 25.6, 2367, _OCTCONV),
    'oct-resnet50-a0.75_in1k': ('Oct-ResNet-50 (alpha 0.75)', 25.6, 1900, _OCTCONV),
    'oct-mobilenetv2_in1k': ('Oct-MobileNetV2 1.0 (alpha 0.375)', 3.5, 256, _OCTCONV),
}


def find_configs(dirs):
    """Every config file (not ``_base_``) under the given folders, sorted."""
    found = []
    for folder in dirs:
        paths = glob.glob(osp.join(folder, '**', '*.py'), recursive=True)
        found += [p for p in paths if '_base_' not in p.split(os.sep)]
    return sorted(set(found))


def load_latency(path=LATENCY_FILE):
    """{config name or path: latency in ms} from a benchmark's JSON output, {} when there is none."""
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        data = json.load(f)
    if isinstance(data, dict) and isinstance(data.get('results'), list):
        data = data['results']
    # tools/analysis/benchmark.py records every mode and batch size: the table shows eager at batch 1
    records = data.items() if isinstance(data, dict) else [
        (r.get('config'), r) for r in data if r.get('mode', 'eager') == 'eager' and r.get('batch', 1) == 1]
    latency = {}
    for key, value in records:
        if isinstance(value, dict):
            value = next((value[k] for k in ('latency_ms', 'mean_ms', 'ms', 'latency') if k in value), None)
        if key and isinstance(value, (int, float)):
            latency[str(key)] = float(value)
    return latency


def _latency_of(config, latency):
    stem = osp.splitext(osp.basename(config))[0]
    for key in (config, osp.relpath(config, ROOT), osp.basename(config), stem):
        if key in latency:
            return f'{latency[key]:.2f}'
    return '-'


def _fmt_macs(macs):
    return f'{macs / 1e9:.2f}G' if macs >= 1e9 else f'{macs / 1e6:.1f}M'


def _fmt_published(mega):
    return f'{mega / 1e3:.2f}G' if mega >= 1e3 else f'{mega:g}M'


def measure(configs, shape=None, log=None):
    """[(config, config_complexity result without the model)] for each config, one model at a time."""
    import torch

    from lwmm.analysis import config_complexity
    rows = []
    for config in configs:
        if log:
            log(f'counting {osp.relpath(config, ROOT)}')
        with torch.no_grad():
            result = config_complexity(config, shape)
        result.pop('model')
        rows.append((config, result))
    return rows


def make_table(rows, link_dir=ROOT, latency=None):
    """The markdown table of measured rows; config links are relative to ``link_dir``."""
    latency = latency or {}
    lines = [
        '| model | config | input | params (M) | MACs | paper params (M) | paper MACs | CPU latency (ms) |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for config, result in rows:
        stem = osp.splitext(osp.basename(config))[0]
        name, p_params, p_macs, _ = PUBLISHED.get(stem, (stem, None, None, None))
        link = osp.relpath(osp.abspath(config), osp.abspath(link_dir)).replace(os.sep, '/')
        _, _, height, width = result['input_shape']
        lines.append(f"| {name} | [{stem}]({link}) | {height}x{width} | {result['params'] / 1e6:.2f} | "
                     f"{_fmt_macs(result['macs'])} | {'-' if p_params is None else f'{p_params:g}'} | "
                     f"{'-' if p_macs is None else _fmt_published(p_macs)} | {_latency_of(config, latency)} |")
    stems = [osp.splitext(osp.basename(c))[0] for c, _ in rows]
    sources = sorted({PUBLISHED[s][3] for s in stems if s in PUBLISHED and PUBLISHED[s][3]})
    if latency:
        lines += ['', 'CPU latency: eager PyTorch, batch 1, 1 thread, median, from the last run of '
                  'tools/analysis/benchmark.py (docs/benchmarks.md gives the machine, the command and the '
                  'comparison with timm and mmpretrain).']
    if sources:
        lines += ['', 'Paper figures: ' + '; '.join(sources) + '.']
    return '\n'.join(lines)


def replace_between_markers(text, table):
    """``text`` with everything between the model-zoo markers replaced by ``table``.

    Raises:
        ValueError: a marker is missing, or the end marker comes before the start marker.
    """
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    missing = [m for m, pos in ((START_MARKER, start), (END_MARKER, end)) if pos < 0]
    if missing:
        raise ValueError(f'marker(s) {missing} not found: the file must contain {START_MARKER} and '
                         f'{END_MARKER}, in that order')
    if end < start:
        raise ValueError(f'{END_MARKER} comes before {START_MARKER}')
    return text[:start + len(START_MARKER)] + '\n' + table.strip() + '\n' + text[end:]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Write the model-zoo table (params, MACs, latency).')
    parser.add_argument('--configs', nargs='+', default=None,
                        help='config folders or files (default: configs/cls; with --all also det and seg)')
    parser.add_argument('--all', action='store_true', help='classification, detection and segmentation')
    parser.add_argument('--write', metavar='FILE', help='replace the table between the markers in FILE')
    parser.add_argument('--latency', default=LATENCY_FILE, help=f'benchmark JSON (default {LATENCY_FILE})')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.configs is None:
        names = ('cls', 'det', 'seg') if args.all else ('cls', )
        args.configs = [osp.join(ROOT, 'configs', name) for name in names]
    configs = sorted(set(c for c in args.configs if osp.isfile(c)) | set(find_configs(
        [c for c in args.configs if osp.isdir(c)])))
    if not configs:
        raise SystemExit(f'no config found in {args.configs}')
    if args.write:
        if not osp.isfile(args.write):
            raise SystemExit(f'--write: {args.write} does not exist')
        with open(args.write) as f:
            text = f.read()
        try:
            replace_between_markers(text, '')  # fail before counting anything
        except ValueError as err:
            raise SystemExit(f'--write {args.write}: {err}')
    rows = measure(configs, log=lambda msg: print(msg, file=sys.stderr))
    latency = load_latency(args.latency)
    if args.write:
        table = make_table(rows, osp.dirname(osp.abspath(args.write)), latency)
        with open(args.write, 'w') as f:
            f.write(replace_between_markers(text, table))
        print(f'wrote {len(rows)} rows to {args.write}', file=sys.stderr)
    else:
        table = make_table(rows, ROOT, latency)
        print(table)
    return table


if __name__ == '__main__':
    main()
