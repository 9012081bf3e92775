"""CPU latency and training throughput of lwmm models next to the reference implementations.

Classifiers (every config in configs/cls/, or those chosen with --configs / --families), at batch 1 and 32
(--batch-sizes) and at each config's test input (224x224, 256x256 for MobileViT; --size overrides), in three
modes:

- ``eager``: the model as built, in eval mode;
- ``fused``: after ``lwmm.deploy.switch_to_deploy`` (BatchNorm folded into the convolutions);
- ``onnxruntime``: the fused model exported with ``lwmm.deploy.export_onnx`` and run by an ONNX Runtime
  session with the same number of intra-op threads.

In the same run, the reference each lwmm model is compared with (lwmm.analysis.references):

- *twins*, the same architecture in timm (``ghostnet_*``, ``ghostnetv2_*``, ``mobilevit_*``: timm's
  checkpoints convert to lwmm's with lwmm.converters), timed eager and in ONNX Runtime. The goals of
  issue #6 apply to them: lwmm eager / timm eager <= 1.00 and lwmm fused / timm eager <= 0.85.
- *baselines*, the static network a dynamic or octave network is built from (mmpretrain's MobileNetV2 /
  MobileNetV3 / ResNet classifiers from mmpretrain's configs, timm's ``mobilenetv3_small_100``), for the
  cost of the technique.

Models that share a reference are timed together and in alternation (one run of each model and mode in
turn, ``--repeats`` times after ``--warmup`` runs), so a change of load on the shared machine hits all of
them alike. Latency is the median and 90th percentile of those runs; ``--clock cpu`` times the CPU time of
the calling thread instead of the wall clock (``--threads 1`` only), which a loaded machine disturbs less.
Randomly initialised weights, no downloads.

End-to-end (``--e2e-configs``): detectors and segmentors, ``forward(mode='tensor')`` at the config's input
size, batch 1, eager and fused, against mmdet's SSDLite-MobileNetV2 and mmseg's DeepLabV3-MobileNetV2.

Training (``--train-batch``): images/s of forward + cross-entropy + backward + SGD step on random data at
the classification input size, and the peak resident memory, each model in its own subprocess: ``peak
RSS`` is the process's peak resident memory during training (the kernel's VmHWM, reset once the model is
built; ``ru_maxrss`` where that reset is not possible), ``train memory`` that peak less the resident memory
just before the first step (activations, gradients, optimizer state and allocator caches).

Output: a markdown table on stdout and in ``--out-dir``: ``<timestamp>.json`` and ``latest.json``
(``{"meta": ..., "results": [records]}``, read by tools/analysis/model_zoo.py), ``<timestamp>.md`` and
``<timestamp>.png`` (latency against MACs per family, references marked).

Examples::

    python tools/analysis/benchmark.py                             # everything, 1 thread
    python tools/analysis/benchmark.py --families ghostnet --clock cpu --no-train --no-e2e
    python tools/analysis/benchmark.py --quick --configs configs/cls/ghostnet-0.5x_in1k.py
"""
import argparse
import glob
import os
import os.path as osp
import sys
import tempfile

# Busy-waiting OpenMP threads make small CPU ops many times slower when other processes share the cores.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from lwmm.analysis.benchmark_latency import MODES, TimingPlan  # noqa: E402
from lwmm.analysis.references import FAMILIES, family_of  # noqa: E402

DEFAULT_OUT_DIR = osp.join('work_dirs', 'benchmark')
DEFAULT_E2E = ['configs/det/ssdlite_ghostnetv2_coco.py', 'configs/det/ssdlite_mobilevit-xs_coco.py',
               'configs/seg/deeplabv3_ghostnetv2_ade20k.py', 'configs/seg/deeplabv3_mobilevit-xxs_ade20k.py']


def select_configs(configs, families):
    """Classifier config paths from --configs (files or folders) and --families (family names or prefixes)."""
    if not configs:
        configs = [osp.join(ROOT, 'configs', 'cls')]
    found = []
    for item in configs:
        if osp.isdir(item):
            found += sorted(p for p in glob.glob(osp.join(item, '*.py')))
        elif osp.isfile(item):
            found.append(item)
        else:
            raise FileNotFoundError(f'--configs: {item!r} is neither a config file nor a folder')
    if families:
        wanted = [f.lower() for f in families]
        known = sorted({f.lower() for _, f in FAMILIES})
        unknown = [f for f in wanted if f not in known]
        if unknown:
            raise ValueError(f'--families {unknown} not known: choose from {known}')
        found = [c for c in found if family_of(c).lower() in wanted]
    if not found:
        raise ValueError(f'--configs {configs} --families {families}: no classifier config selected')
    return [osp.abspath(c) for c in found]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--configs', nargs='+', help='classifier configs or folders (default: configs/cls)')
    parser.add_argument('--families', nargs='+', help='only these families, e.g. ghostnet mobilevit')
    parser.add_argument('--batch-sizes', type=int, nargs='+', help='default: 1 32 (--quick: 1)')
    parser.add_argument('--size', type=int, help='input height and width for all classifiers (default: each '
                        "config's test input, 224 or 256 for MobileViT)")
    parser.add_argument('--threads', type=int, default=1,
                        help='intra-op threads of torch and ONNX Runtime (default 1: one core is what a phone '
                        'gives a model and the mobile papers time, it keeps runs comparable on a shared machine, '
                        'and it allows --clock cpu)')
    parser.add_argument('--clock', choices=['wall', 'cpu'], default='wall',
                        help="'cpu': CPU time of the timing thread, less disturbed by other processes; needs "
                        '--threads 1')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=30, help='timed runs at batch 1')
    parser.add_argument('--large-batch-repeats', type=int, default=6, help='timed runs at batch > 1')
    parser.add_argument('--large-batch-warmup', type=int, default=1, help='warm-up runs at batch > 1')
    parser.add_argument('--modes', nargs='+', choices=MODES, default=list(MODES))
    parser.add_argument('--channels-last', action='store_true', help='NHWC inputs for the PyTorch modes')
    parser.add_argument('--e2e-configs', nargs='*', default=None,
                        help=f'detector / segmentor configs timed end to end (default: {" ".join(DEFAULT_E2E)})')
    parser.add_argument('--e2e-repeats', type=int, default=10)
    parser.add_argument('--no-e2e', action='store_true')
    parser.add_argument('--train-batch', type=int, default=16)
    parser.add_argument('--train-steps', type=int, default=3)
    parser.add_argument('--no-train', action='store_true')
    parser.add_argument('--no-latency', action='store_true', help='skip the classifier latency (e.g. training only)')
    parser.add_argument('--no-profile', action='store_true', help='do not profile the pairs that miss a goal')
    parser.add_argument('--profile-top', type=int, default=8, help='operators listed per profile')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: batch 1, 1 warm-up, 3 repeats, 2 training steps, no e2e, no profiles')
    parser.add_argument('--merge', nargs='+', metavar='JSON',
                        help='measure nothing: merge the results of earlier runs (their JSON files) into one '
                        'report, e.g. families run one after another')
    parser.add_argument('--out-dir', default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_sizes = args.batch_sizes or [1]
        args.warmup, args.repeats, args.large_batch_repeats, args.large_batch_warmup = 1, 3, 1, 0
        args.train_steps, args.e2e_repeats, args.no_profile = 2, 2, True
        if args.e2e_configs is None:
            args.no_e2e = True
    args.batch_sizes = args.batch_sizes or [1, 32]
    try:
        from lwmm.analysis.timing import check_clock_threads
        check_clock_threads(args.clock, args.threads)
        args.configs = None if args.merge else select_configs(args.configs, args.families)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    return args


def timing_plan(args) -> TimingPlan:
    return TimingPlan(modes=args.modes, threads=args.threads, clock=args.clock, warmup=args.warmup,
                      repeats=args.repeats, large_batch_warmup=args.large_batch_warmup,
                      large_batch_repeats=args.large_batch_repeats, e2e_repeats=args.e2e_repeats,
                      channels_last=args.channels_last, size=args.size, profile_top=args.profile_top)


def run(args, argv):
    """Measure what ``args`` asks for (or merge earlier runs); write and print the report."""
    import torch

    import lwmm  # noqa: F401  registers the modules, applies the compat fixes
    from lwmm.analysis import benchmark_latency, benchmark_report, benchmark_training

    def log(message):
        print(message, file=sys.stderr, flush=True)

    if args.merge:
        meta, records, profiles = benchmark_report.merge_runs(args.merge)
    else:
        torch.manual_seed(0)
        plan = timing_plan(args)
        settings = dict(threads=args.threads, clock=args.clock, warmup=args.warmup, repeats=args.repeats,
                        large_batch_repeats=args.large_batch_repeats, large_batch_warmup=args.large_batch_warmup,
                        batch_sizes=args.batch_sizes, modes=args.modes, train_batch=args.train_batch)
        meta = benchmark_report.environment(settings, 'python tools/analysis/benchmark.py ' + ' '.join(argv))
        records = []
        with tempfile.TemporaryDirectory(prefix='lwmm_bench_') as workdir:
            if not args.no_latency:
                records += benchmark_latency.benchmark_classifiers(args.configs, args.batch_sizes, plan, workdir,
                                                                   log)
            if not args.no_e2e:
                e2e = [osp.join(ROOT, c) for c in (args.e2e_configs or DEFAULT_E2E)]
                records += benchmark_latency.benchmark_e2e(e2e, plan, workdir, log)
        if not args.no_train:
            records += benchmark_training.benchmark_training(args.configs, args.train_batch, args.train_steps,
                                                             args.threads, args.clock, args.size, log)
        profiles = {} if args.no_profile else benchmark_latency.profile_missed(records, plan, log)
        benchmark_report.finish_meta(meta, records, profiles)
    payload, report, paths = benchmark_report.write_outputs(meta, records, profiles, args.out_dir)
    print(report)
    log('wrote ' + ', '.join(paths))
    return payload


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    import torch
    threads_before = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return run(args, argv)
    finally:
        torch.set_num_threads(threads_before)  # the caller's setting when called in-process


if __name__ == '__main__':
    main()
