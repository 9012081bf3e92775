"""What tools/train.py and tools/test.py share: config set-up and the launch path for every codebase."""
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction

CODEBASES = ('mmpretrain', 'mmdet', 'mmseg')


def add_common_args(parser) -> None:
    parser.add_argument('--work-dir', help='folder for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value (nested keys with dots)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    # torchrun passes --local-rank (torch >= 2.0) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args) -> Config:
    """Read the config, apply --cfg-options, --work-dir and --launcher, and check its codebase."""
    import lwmm  # noqa: F401  (compatibility fixes and registries before anything is built)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config {args.config!r} does not exist; configs live under configs/ '
                                '(cls/, det/, seg/, demo/).')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    scope = cfg.get('default_scope')
    if scope not in CODEBASES:
        raise ValueError(f'{args.config}: default_scope={scope!r}; lwmm tools run configs of '
                         f'{", ".join(CODEBASES)} (inherit one of configs/_base_/default_runtime_*.py).')
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.launcher = args.launcher
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.launcher != 'none' and not torch.cuda.is_available():
        prepare_cpu_distributed(cfg)
    return cfg


def prepare_cpu_distributed(cfg: Config) -> None:
    """Make mmengine 0.10.7's distributed path work on CPU processes (gloo).

    mmengine's ``init_dist`` always calls ``torch.cuda.set_device`` and its DDP wrapper always passes
    ``device_ids=[LOCAL_RANK]``; both fail without GPUs. The process group is opened here with gloo
    (mmengine then finds it initialised and skips its own set-up), and DDP gets ``device_ids=None``, which
    is how torch's DDP wraps CPU modules. NCCL on GPUs does not pass through here.
    """
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    cfg.model_wrapper_cfg = wrapper


def build_runner(cfg: Config):
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
