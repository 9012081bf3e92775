"""Evaluate a checkpoint of any lwmm config (mmpretrain, mmdet or mmseg).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out RESULTS.pkl] [--show-dir DIR]
                         [--cfg-options k=v ...] [--launcher none|pytorch|slurm]
"""
import argparse
import os.path as osp

from lwmm.engine.launch import add_common_args, build_runner, load_config


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file')
    parser.add_argument('--show-dir', help='write pictures of the predictions to this folder '
                        '(under the work dir when relative)')
    add_common_args(parser)
    return parser.parse_args()


def enable_visualization(cfg, show_dir: str) -> None:
    """Turn on the codebase's visualization hook so each test image is drawn to ``show_dir``."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError('--show-dir: this config has no default_hooks.visualization to draw with.')
    scope = cfg.default_scope
    if scope == 'mmdet':  # mmdet itself puts a relative test_out_dir under <work_dir>/<timestamp>/
        hook.update(draw=True, test_out_dir=show_dir)
        return
    # mmpretrain and mmseg would resolve a relative folder against the current directory
    show_dir = osp.join(cfg.work_dir, show_dir)
    if scope == 'mmpretrain':  # its default interval (5000) would draw only the first image
        hook.update(enable=True, interval=1, out_dir=show_dir)
    else:  # mmseg draws through the visualizer's backends: <show_dir>/vis_data/vis_image/
        hook.update(draw=True, interval=1)
        cfg.visualizer['save_dir'] = show_dir


def main():
    args = parse_args()
    cfg = load_config(args)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist.')
    from lwmm.datasets.checks import check_data_paths
    check_data_paths(cfg, ('test_dataloader', ))
    cfg.load_from = args.checkpoint
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out {args.out}: use a .pkl file.')
        dump = dict(type='DumpResults', out_file_path=args.out)
        evaluator = cfg.test_evaluator
        cfg.test_evaluator = list(evaluator) + [dump] if isinstance(evaluator, (list, tuple)) else [evaluator, dump]
    runner = build_runner(cfg, strict_checkpoint=True)  # weights of another model would be evaluated silently
    runner.test()


if __name__ == '__main__':
    main()
