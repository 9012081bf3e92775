"""int8 against float32 in ONNX Runtime, per model: latency and the config's test metric.

    python tools/analysis/benchmark_int8.py CONFIG[,CHECKPOINT] ... --calib DIR [--shape H W]
        [--calib-num 64] [--batches 1 32] [--threads 1 2] [--repeats 10] [--warmup 2] [--evaluate]
        [--all-ops] [--static-batch] [--work-dir work_dirs/int8] [--json FILE]
    python tools/analysis/benchmark_int8.py --summarize work_dirs/int8/bench_*.json   # one table of runs

Each model is exported by tools/deploy/export_onnx.py with --int8 (BN folded, float graph checked against
PyTorch, then quantized: lwmm/deploy/quantize.py); with --all-ops a second int8 graph quantizes the nodes
the default keeps in float (dynamic kernels, attention MatMuls). The graphs of one model are timed in
alternation (lwmm/analysis/int8.py; CPU clock at one thread, wall clock above), and with --evaluate run on
the config's test split through the model's own post-processing and evaluator. Prints a markdown table.
"""
import argparse
import json
import os
import os.path as osp
import sys

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'tools', 'deploy'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('models', nargs='*', metavar='CONFIG[,CHECKPOINT]')
    parser.add_argument('--calib', metavar='DIR', help='folder of calibration images')
    parser.add_argument('--summarize', nargs='+', metavar='JSON', help='print one table of earlier --json runs')
    parser.add_argument('--calib-num', type=int, default=64, help='calibration images (default 64)')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument('--batches', type=int, nargs='+', default=[1, 32])
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--static-batch', action='store_true',
                        help='export with a fixed batch (--batches must then be one size): DY models\' grouped form')
    parser.add_argument('--evaluate', action='store_true', help="run the config's test metric on each graph")
    parser.add_argument('--all-ops', action='store_true',
                        help='also time/evaluate an int8 graph with every op quantized')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'int8'), help='where the graphs go')
    parser.add_argument('--json', help='write the results here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.summarize:
        print(summary(args.summarize))
        return None
    if not args.models or not args.calib:
        raise SystemExit('give CONFIG[,CHECKPOINT] ... and --calib DIR (or --summarize JSON ...)')
    if args.static_batch and len(args.batches) != 1:
        raise SystemExit(f'--static-batch fixes the graph to one batch size; --batches {args.batches} has several.')
    if args.static_batch and args.evaluate and args.batches[0] != 1:
        raise SystemExit(f'--evaluate on a --static-batch graph needs --batches 1 (a split rarely divides into '
                         f'batches of {args.batches[0]}); time batch {args.batches[0]} in a second run without '
                         f'--evaluate.')
    import export_onnx

    from lwmm.analysis.int8 import evaluate, latency, onnx_runner
    from lwmm.deploy.quantize import CalibrationReader, module_scopes, preprocessed_images, quantize_onnx
    from lwmm.deploy.tasks import wrap_for_export
    from lwmm.models.layers.dynamic_conv import DynamicConv2d
    results = []
    for spec in args.models:
        config, _, checkpoint = spec.partition(',')
        name = osp.splitext(osp.basename(config))[0]
        out = osp.join(args.work_dir, 'graphs', f'{name}.onnx')
        export = export_onnx.main([config] + ([checkpoint] if checkpoint else []) + [
            '--out', out, '--shape', *map(str, args.shape), '--int8', '--calib', args.calib,
            '--calib-num', str(args.calib_num)] + (
                ['--static-batch', '--batch', str(args.batches[0])] if args.static_batch else []))
        paths = {'fp32': out, 'int8': export_onnx.int8_path(out)}
        cfg, model = export_onnx.build_model(config, checkpoint or None)
        record = dict(config=config, checkpoint=checkpoint or None, shape=list(args.shape),
                      float_nodes={k: len(v) for k, v in export['int8']['float_nodes'].items()},
                      quantized_convs=export['int8']['quantized_ops'].get('Conv', 0),
                      int8_vs_float=export['int8']['errors'])
        if args.all_ops:
            from lwmm.deploy import switch_to_deploy
            wrapper = switch_to_deploy(wrap_for_export(model, tuple(args.shape)).eval())
            from lwmm.deploy.quantize import calibration_images
            reader = CalibrationReader('input', preprocessed_images(
                cfg, model.data_preprocessor, calibration_images(args.calib, args.calib_num), tuple(args.shape)),
                batch=args.batches[0] if args.static_batch else 1)
            paths['int8-all-ops'] = osp.join(args.work_dir, 'graphs', f'{name}.int8-all-ops.onnx')
            quantize_onnx(out, paths['int8-all-ops'], reader, dynamic_scopes=module_scopes(wrapper, DynamicConv2d),
                          keep_float=False)
        record['latency'] = latency(paths, args.shape, args.batches, args.threads, args.repeats, args.warmup)
        if args.evaluate:
            size = args.batches[0] if args.static_batch else 16
            record['metrics'] = {label: evaluate(cfg, model, onnx_runner(path), batch_size=size)
                                 for label, path in paths.items()}
        results.append(record)
        print(table([record], args), flush=True)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(dict(command=' '.join(sys.argv), results=results), f, indent=1)
    print(table(results, args))
    return results


def table(results, args) -> str:
    """Markdown: per model and thread count, float ms and int8 / float ratio at each batch; metrics."""
    lines = ['| model | threads | ' + ' | '.join(f'fp32 ms b{b} | int8/fp32 b{b}' for b in args.batches) +
             ' | metric fp32 -> int8 | float nodes kept |',
             '|---|---|' + '---|---|' * len(args.batches) + '---|---|']
    for record in results:
        name = osp.splitext(osp.basename(record['config']))[0]
        metrics = record.get('metrics') or {}
        shown = '-'
        if metrics:
            key = next(k for k in metrics['fp32'] if 'top1' in k or 'bbox_mAP' == k.split('/')[-1] or 'mIoU' in k)
            shown = ' -> '.join(f'{metrics[label][key]:.3g}' for label in metrics) + f' ({key})'
        kept = ', '.join(f'{v} {k}' for k, v in record['float_nodes'].items() if v) or 'none'
        for threads in args.threads:
            cells = []
            for batch in args.batches:
                by_label = {r['label']: r['median_ms'] for r in record['latency']
                            if r['threads'] == threads and r['batch'] == batch}
                ratios = '/'.join(f'{by_label[label] / by_label["fp32"]:.2f}' for label in by_label if label != 'fp32')
                cells.append(f'{by_label["fp32"]:.2f} | {ratios}')
            lines.append(f'| {name} | {threads} | ' + ' | '.join(cells) + f' | {shown} | {kept} |')
    return '\n'.join(lines)


def summary(paths) -> str:
    """One markdown row per model and thread count of benchmark JSON files: batch 1 and the largest batch."""
    lines = ['| model | weights | input | threads | fp32 ms b1 | int8/fp32 b1 | batch N: fp32 ms, int8/fp32 | '
             'metric fp32 -> int8 | rms(int8-fp32)/rms(fp32), worst output | float nodes kept |', '|' + '---|' * 10]
    for path in paths:
        with open(path) as f:
            records = json.load(f)['results']
        for record in records:
            name = osp.splitext(osp.basename(record['config']))[0]
            metrics = record.get('metrics') or {}
            shown = '-'
            if metrics:
                key = next(k for k in metrics['fp32'] if k.endswith(('top1', '/bbox_mAP', 'mIoU')))
                shown = ' -> '.join(f'{metrics[label][key]:.3g}' for label in metrics) + f' ({key.split("/")[-1]})'
            kept = ', '.join(f'{v} {k.replace("_", " ")}' for k, v in record['float_nodes'].items() if v) or 'none'
            rms = max(e['relative_rms_diff'] for e in record['int8_vs_float'])
            weights = 'trained demo' if record['checkpoint'] else 'random init'
            for threads in sorted({r['threads'] for r in record['latency']}):
                rows = [r for r in record['latency'] if r['threads'] == threads]
                cells = []
                for batch in sorted({r['batch'] for r in rows}):
                    ms = {r['label']: r['median_ms'] for r in rows if r['batch'] == batch}
                    ratio = ' / '.join(f'{ms[label] / ms["fp32"]:.2f}' for label in ms if label != 'fp32')
                    cells.append((batch, ms['fp32'], ratio))
                # a static-batch run may time one batch only: batch 1 in the b1 columns, any other in batch N
                one = (f'{cells[0][1]:.2f} | {cells[0][2]}' if cells[0][0] == 1 else '- | -')
                big = (f'b{cells[-1][0]}: {cells[-1][1]:.1f}, {cells[-1][2]}' if cells[-1][0] != 1 else '-')
                lines.append(f'| {name} | {weights} | {record["shape"][0]}x{record["shape"][1]} | {threads} | '
                             f'{one} | {big} | {shown} | {rms:.3f} | {kept} |')
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
