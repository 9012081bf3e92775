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
    from lwmm.engine.default_hooks import add_default_hooks
    add_default_hooks(cfg)
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
    is how torch's DDP wraps CPU modules. NCCL on GPUs does not pass through here. Under Slurm the
    rendezvous variables come from Slurm's, as mmengine's own Slurm set-up derives them. The default
    wrapper becomes ``lwmm.CPUDistributedDataParallel``, which makes SyncBN layers work on CPU
    (torch's ``SyncBatchNorm`` trains only on GPUs).
    """
    import torch.distributed as dist
    if cfg.get('launcher') == 'slurm':
        slurm_rendezvous_env()
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    if wrapper.get('type') == 'MMDistributedDataParallel':
        wrapper['type'] = 'lwmm.CPUDistributedDataParallel'
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    cfg.model_wrapper_cfg = wrapper


def slurm_rendezvous_env(environ=os.environ) -> None:
    """Set RANK, WORLD_SIZE and LOCAL_RANK from a Slurm step's ``SLURM_PROCID``, ``SLURM_NTASKS`` and
    ``SLURM_LOCALID``, and MASTER_ADDR (the first host of ``SLURM_NODELIST``) and MASTER_PORT (29500)
    unless set: what mmengine's Slurm launcher does before it opens an NCCL group."""
    import shutil
    import subprocess
    missing = [name for name in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST') if name not in environ]
    if missing:
        raise ValueError(f'--launcher slurm: {", ".join(missing)} not set; run the job through srun '
                         '(tools/slurm_train.sh), or use --launcher pytorch with tools/dist_train.sh.')
    environ['RANK'] = environ['SLURM_PROCID']
    environ['WORLD_SIZE'] = environ['SLURM_NTASKS']
    environ['LOCAL_RANK'] = environ.get('SLURM_LOCALID', '0')
    if 'MASTER_ADDR' not in environ:
        nodes = environ['SLURM_NODELIST']  # compressed, e.g. node[01-04]: scontrol expands it
        hosts = subprocess.run(['scontrol', 'show', 'hostname', nodes], capture_output=True, text=True
                               ).stdout.split() if shutil.which('scontrol') else []
        environ['MASTER_ADDR'] = hosts[0] if hosts else nodes
    environ.setdefault('MASTER_PORT', '29500')


def build_runner(cfg: Config, strict_checkpoint: bool = None):
    """The Runner of ``cfg``, after the config and checkpoint checks (lwmm.engine.config_checks /
    checkpoint_checks), its checkpoint loads guarded (lwmm.engine.checkpoint_safety). ``strict_checkpoint``:
    stop unless ``cfg.load_from`` fits the model key for key (default: when resuming; tools/test.py asks for
    it; fine-tuning may drop a head)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from lwmm.engine.checkpoint_checks import check_checkpoint_fits
    from lwmm.engine.checkpoint_safety import guard_runner_loads
    from lwmm.engine.config_checks import check_config
    check_config(cfg)  # unprefixed lwmm types, neck/head channels: fail here with the fix, not mid-build
    load_from = cfg.get('load_from')
    if load_from and '://' not in load_from:
        strict = bool(cfg.get('resume')) if strict_checkpoint is None else strict_checkpoint
        check_checkpoint_fits(cfg, load_from, strict)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    # resume / load_from read mmengine's own checkpoints without widening torch's allow-list for the process
    return guard_runner_loads(runner)
