"""The model zoo: OpenMMLab metafiles in, the README's and docs/model_zoo.md's tables out.

    python tools/analysis/model_zoo.py                            # print the tables
    python tools/analysis/model_zoo.py --write docs/model_zoo.md  # replace the tables between the markers
    python tools/analysis/model_zoo.py --measure [--latency FILE] [--configs C ...]  # re-count, store
    python tools/analysis/model_zoo.py --int8 work_dirs/int8/bench_*.json   # store int8 figures

``model-index.yml`` (repository root) imports one metafile per family (``configs/metafiles/<family>.yml``)
in the schema of mmpretrain's and mmdet's metafiles: ``Collections`` (one per paper, with ``Paper`` and
``Code``) and ``Models``, each with ``Name`` (the config's stem), ``In Collection``, ``Config``,
``Metadata`` (``Training Data``, ``FLOPs`` and ``Parameters``), ``Results`` (``Task``, ``Dataset``,
``Metrics``) and ``Weights``. What lwmm's entries mean:

- ``Metadata.Parameters`` / ``FLOPs`` / ``Input Size``: counted by ``--measure`` with
  :func:`lwmm.analysis.config_complexity` (multiply-adds, as the papers count; see get_flops.py) on the
  config's model at its default input; ``Metadata.CPU Latency (ms)``: from a benchmark's JSON
  (``--latency``, tools/analysis/benchmark.py's output: eager mode, batch 1). Never typed by hand.
- ``Metadata.ORT int8/fp32 Latency``, ``Shapes Demo Top-1 fp32`` / ``int8``: from
  tools/analysis/benchmark_int8.py's JSON (``--int8``), measured on the family's shapes demo config
  (``configs/demo/<name>_shapes.py`` for ``configs/cls/<name>_in1k.py``): the int8 / float32 ONNX Runtime
  latency ratio at batch 1, one thread, and the held-out top-1 of both graphs where a trained demo
  checkpoint was measured (ImageNet accuracy cannot be measured offline). docs/int8.md has the details.
- ``Metadata.Architecture``: the network's name in the table; ``Metadata.Pretrained``: the checkpoint the
  config's backbone starts from (its ``init_cfg``; tests check the two agree).
- ``Results``: the paper's reported figures for this setting (lwmm publishes no trained weights of its
  own); ``Paper Figures``: the paper's parameters and multiply-adds, the model it reports, and where.
- ``Weights``: a classifier's published ImageNet weights (timm's hub, ``Converted From`` the authors'
  release), loadable with ``init_cfg=dict(type='Pretrained', checkpoint='timm://<tag>')``.

``--write FILE`` replaces the text between ``<!-- model-zoo:start -->`` and ``<!-- model-zoo:end -->``
(classification) and between ``<!-- model-zoo-dense:start -->`` and ``<!-- model-zoo-dense:end -->``
(detection and segmentation) in FILE, and fails before writing if a marker is missing.
"""
import argparse
import json
import os
import os.path as osp
import sys

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

MODEL_INDEX = osp.join(ROOT, 'model-index.yml')
LATENCY_FILE = osp.join('work_dirs', 'benchmark', 'latest.json')
#: the tables, each between its markers: (name, tasks of its rows)
TABLES = (('model-zoo', ('Image Classification', )),
          ('model-zoo-dense', ('Object Detection', 'Semantic Segmentation')))
#: Results metric shown in the dense table, per task
TASK_METRICS = {'Object Detection': 'box AP', 'Semantic Segmentation': 'mIoU'}


def markers(name='model-zoo'):
    return f'<!-- {name}:start -->', f'<!-- {name}:end -->'


START_MARKER, END_MARKER = markers()


# -- metafiles -------------------------------------------------------------------------------------------
def load_yaml(path):
    import yaml
    with open(path) as f:
        return yaml.safe_load(f)


def dump_yaml(data, path):
    import yaml
    with open(path, 'w') as f:
        yaml.safe_dump(data, f, sort_keys=False, allow_unicode=True, width=110)


def metafile_paths(index=MODEL_INDEX):
    """The metafiles ``model-index.yml`` imports, as absolute paths."""
    data = load_yaml(index)
    if not isinstance(data, dict) or not isinstance(data.get('Import'), list):
        raise ValueError(f'{index}: expected a mapping with an Import list of metafiles.')
    return [osp.join(osp.dirname(osp.abspath(index)), path) for path in data['Import']]


def load_models(index=MODEL_INDEX):
    """(collections by name, models in metafile order); each model gets ``_metafile``, its file."""
    collections, models = {}, []
    for path in metafile_paths(index):
        data = load_yaml(path)
        for collection in data.get('Collections', []):
            collections[collection['Name']] = collection
        for model in data.get('Models', []):
            models.append(dict(model, _metafile=path))
    return collections, models


def task_of(model):
    """The model's task: its Results' (the paper's figure), else ``Metadata.Task`` (no published figure)."""
    results = model.get('Results') or []
    return results[0]['Task'] if results else model['Metadata'].get('Task')


def dataset_of(model):
    results = model.get('Results') or []
    return results[0]['Dataset'] if results else model['Metadata'].get('Training Data')


# -- measuring --------------------------------------------------------------------------------------------
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


INT8_KEYS = ('ORT int8/fp32 Latency', 'Shapes Demo Top-1 fp32', 'Shapes Demo Top-1 int8')


def int8_figures(paths):
    """{classification config: {INT8_KEYS: value}} from benchmark_int8.py JSON files: each demo config's
    figures go to the ImageNet config of the same name (``demo/<x>_shapes.py`` -> ``cls/<x>_in1k.py``);
    top-1 only for a trained checkpoint (a random-weight top-1 says nothing)."""
    figures = {}
    for path in paths:
        with open(path) as f:
            records = json.load(f)['results']
        for record in records:
            stem = osp.splitext(osp.basename(record['config']))[0]
            if not stem.endswith('_shapes'):
                continue
            target = osp.join('configs', 'cls', stem[:-len('_shapes')] + '_in1k.py')
            ms = {r['label']: r['median_ms'] for r in record['latency'] if r['threads'] == 1 and r['batch'] == 1}
            values = {INT8_KEYS[0]: round(ms['int8'] / ms['fp32'], 2)}
            metrics = record.get('metrics') or {}
            if record.get('checkpoint') and metrics:
                values[INT8_KEYS[1]] = round(float(metrics['fp32']['accuracy/top1']), 1)
                values[INT8_KEYS[2]] = round(float(metrics['int8']['accuracy/top1']), 1)
            figures[target] = values
    return figures


def store_int8(paths, index=MODEL_INDEX):
    """Write :func:`int8_figures` into the metafiles; returns the configs updated."""
    return update_metadata(int8_figures(paths), index, replace=INT8_KEYS)


def update_metadata(updates, index=MODEL_INDEX, replace=()):
    """Merge ``updates`` ({config: Metadata entries}) into the metafiles' models, first removing the keys of
    ``replace`` (figures a new measurement may lack); returns the configs updated. Other models are left."""
    done = []
    for path in metafile_paths(index):
        data = load_yaml(path)
        models = [m for m in data.get('Models', []) if updates.get(osp.normpath(m['Config']))]
        for model in models:
            for key in replace:
                model['Metadata'].pop(key, None)
            model['Metadata'].update(updates[osp.normpath(model['Config'])])
            done.append(model['Config'])
        if models:
            dump_yaml(data, path)
    return done


def _latency_of(config, latency):
    stem = osp.splitext(osp.basename(config))[0]
    for key in (config, osp.join(ROOT, config), osp.basename(config), stem):
        if key in latency:
            return latency[key]
    return None


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


def store_measurements(configs=None, latency=None, index=MODEL_INDEX, log=None):
    """Count the models of ``configs`` (default: every model of the metafiles) and write the counts, and
    any latency ``latency`` has for them, into their metafiles' ``Metadata``. Returns the configs done."""
    _, models = load_models(index)
    by_config = {osp.normpath(m['Config']): m for m in models}
    wanted = [osp.normpath(osp.relpath(osp.abspath(c), ROOT)) for c in configs] if configs else list(by_config)
    unknown = [c for c in wanted if c not in by_config]
    if unknown:
        raise ValueError(f'{", ".join(unknown)}: not in any metafile of {index}; add the config to its '
                         "family's metafile first.")
    rows = dict(measure([osp.join(ROOT, c) for c in wanted], log=log))
    updates = {}
    for config in wanted:
        result = rows[osp.join(ROOT, config)]
        _, _, height, width = result['input_shape']
        metadata = dict(Parameters=int(result['params']), FLOPs=int(result['macs']),
                        **{'Input Size': f'{height}x{width}'})
        ms = _latency_of(config, latency or {})
        if ms is not None:
            metadata['CPU Latency (ms)'] = round(ms, 2)
        updates[config] = metadata
    update_metadata(updates, index)
    return wanted


# -- tables -----------------------------------------------------------------------------------------------
def _fmt_macs(macs):
    return f'{macs / 1e9:.2f}G' if macs >= 1e9 else f'{macs / 1e6:.1f}M'


def _fmt_published(mega):
    return f'{mega / 1e3:.2f}G' if mega >= 1e3 else f'{mega:g}M'


def _link(model, link_dir):
    stem = osp.splitext(osp.basename(model['Config']))[0]
    path = osp.relpath(osp.join(ROOT, model['Config']), osp.abspath(link_dir)).replace(os.sep, '/')
    return f'[{stem}]({path})'


def _measured(metadata, key, fmt):
    value = metadata.get(key)
    return '-' if value is None else fmt(value)


def make_table(models, link_dir=ROOT):
    """The classification table: measured params / MACs / latency beside the papers' figures."""
    lines = [
        '| model | config | input | params (M) | MACs | paper params (M) | paper MACs | CPU latency (ms) | '
        'ORT int8/fp32 latency | shapes top-1 fp32 -> int8 |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    rows = sorted((m for m in models if task_of(m) == 'Image Classification'),
                  key=lambda m: osp.basename(m['Config']))
    for model in rows:
        metadata, paper = model['Metadata'], model.get('Paper Figures') or {}
        p_params, p_macs = paper.get('Parameters (M)'), paper.get('MACs (M)')
        lines.append(
            f"| {metadata['Architecture']} | {_link(model, link_dir)} | {metadata.get('Input Size', '-')} | "
            f"{_measured(metadata, 'Parameters', lambda v: f'{v / 1e6:.2f}')} | "
            f"{_measured(metadata, 'FLOPs', _fmt_macs)} | {'-' if p_params is None else f'{p_params:g}'} | "
            f"{'-' if p_macs is None else _fmt_published(p_macs)} | "
            f"{_measured(metadata, 'CPU Latency (ms)', lambda v: f'{v:.2f}')} | "
            f"{_measured(metadata, INT8_KEYS[0], lambda v: f'{v:.2f}')} | {_top1_change(metadata)} |")
    sources = sorted({(m.get('Paper Figures') or {}).get('Source') for m in rows} - {None})
    if any('CPU Latency (ms)' in m['Metadata'] for m in rows):
        lines += ['', 'CPU latency: eager PyTorch, batch 1, 1 thread, median, from the last run of '
                  'tools/analysis/benchmark.py (docs/benchmarks.md gives the machine, the command and the '
                  'comparison with timm and mmpretrain).']
    if any(INT8_KEYS[0] in m['Metadata'] for m in rows):
        lines += ['', 'int8: post-training static quantization in ONNX Runtime (tools/deploy/export_onnx.py --int8), '
                  'measured on the family\'s shapes demo at its input (96x96; MobileViT-XXS 128x128) by '
                  'tools/analysis/benchmark_int8.py '
                  '(docs/int8.md): int8 / float32 ORT latency at batch 1, 1 thread; top-1 of the float32 and int8 '
                  'graphs on the shapes held-out split, where a trained demo checkpoint was measured. ImageNet '
                  'accuracy cannot be measured offline (no ImageNet here), so the accuracy column is the shapes '
                  'demo\'s change, not an ImageNet figure.']
    if sources:
        lines += ['', 'Paper figures: ' + '; '.join(sources) + '.']
    return '\n'.join(lines)


def _top1_change(metadata):
    if INT8_KEYS[1] not in metadata:
        return '-'
    return f'{metadata[INT8_KEYS[1]]:g} -> {metadata[INT8_KEYS[2]]:g}'


def make_dense_table(models, link_dir=ROOT):
    """The detection / segmentation table: backbone weights, measured size, the paper's result."""
    lines = ['| config | task | dataset | backbone starts from | params (M) | MACs | input | paper |',
             '|---|---|---|---|---|---|---|---|']
    rows = [m for m in models if task_of(m) in TASK_METRICS]
    rows.sort(key=lambda m: (task_of(m), osp.basename(m['Config'])))
    sources = []
    for model in rows:
        metadata, paper = model['Metadata'], model.get('Paper Figures') or {}
        task = task_of(model)
        metric = TASK_METRICS[task]
        value = ((model.get('Results') or [{}])[0].get('Metrics') or {}).get(metric)
        reported = '-'
        if value is not None:
            if paper['Source'] not in sources:
                sources.append(paper['Source'])
            reported = f"{value:g} {metric} ({paper['Model']}) [{sources.index(paper['Source']) + 1}]"
        pretrained = metadata.get('Pretrained')
        lines.append(
            f"| {_link(model, link_dir)} | {task} | {dataset_of(model)} | "
            f"{f'`{pretrained}`' if pretrained else 'random weights'} | "
            f"{_measured(metadata, 'Parameters', lambda v: f'{v / 1e6:.2f}')} | "
            f"{_measured(metadata, 'FLOPs', _fmt_macs)} | {metadata.get('Input Size', '-')} | {reported} |")
    if sources:
        lines += [''] + [f'- [{number}] {source}' for number, source in enumerate(sources, start=1)]
    return '\n'.join(lines)


def tables(models, link_dir=ROOT):
    """{marker name: table text} of every table."""
    return {'model-zoo': make_table(models, link_dir), 'model-zoo-dense': make_dense_table(models, link_dir)}


def replace_between_markers(text, table, name='model-zoo'):
    """``text`` with everything between the ``name`` markers replaced by ``table``.

    Raises:
        ValueError: a marker is missing, or the end marker comes before the start marker.
    """
    start_marker, end_marker = markers(name)
    start, end = text.find(start_marker), text.find(end_marker)
    missing = [m for m, pos in ((start_marker, start), (end_marker, end)) if pos < 0]
    if missing:
        raise ValueError(f'marker(s) {missing} not found: the file must contain {start_marker} and '
                         f'{end_marker}, in that order')
    if end < start:
        raise ValueError(f'{end_marker} comes before {start_marker}')
    return text[:start + len(start_marker)] + '\n' + table.strip() + '\n' + text[end:]


def render(text, models, link_dir):
    """``text`` with every table replaced (ValueError naming the marker when one is missing)."""
    for name, table in tables(models, link_dir).items():
        text = replace_between_markers(text, table, name)
    return text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='The model-zoo tables, from the metafiles.')
    parser.add_argument('--write', metavar='FILE', help='replace the tables between the markers in FILE')
    parser.add_argument('--measure', action='store_true',
                        help='count params / MACs (and read latency) and store them in the metafiles')
    parser.add_argument('--configs', nargs='+', default=None,
                        help='with --measure: only these config files (default: every config of the metafiles)')
    parser.add_argument('--latency', default=LATENCY_FILE, help=f'benchmark JSON (default {LATENCY_FILE})')
    parser.add_argument('--int8', nargs='+', metavar='JSON',
                        help='store the int8 figures of tools/analysis/benchmark_int8.py --json files')
    parser.add_argument('--index', default=MODEL_INDEX, help='model-index.yml (default: the repository\'s)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.write:
        if not osp.isfile(args.write):
            raise SystemExit(f'--write: {args.write} does not exist')
        with open(args.write) as f:
            text = f.read()
        for name, _ in TABLES:
            try:
                replace_between_markers(text, '', name)  # fail before measuring or writing anything
            except ValueError as err:
                raise SystemExit(f'--write {args.write}: {err}')
    if args.measure:
        done = store_measurements(args.configs, load_latency(args.latency), args.index,
                                  log=lambda msg: print(msg, file=sys.stderr))
        print(f'stored the counts of {len(done)} configs in the metafiles', file=sys.stderr)
    if args.int8:
        done = store_int8(args.int8, args.index)
        print(f'stored the int8 figures of {len(done)} configs in the metafiles', file=sys.stderr)
    _, models = load_models(args.index)
    if args.write:
        with open(args.write, 'w') as f:
            f.write(render(text, models, osp.dirname(osp.abspath(args.write))))
        print(f'wrote the tables of {len(models)} models to {args.write}', file=sys.stderr)
        return
    output = '\n\n'.join(tables(models, ROOT).values())
    print(output)
    return output


if __name__ == '__main__':
    main()
