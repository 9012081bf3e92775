"""tools/dist_train.sh on CPU: two gloo processes train the shapes detection demo with SyncBN and stay in
sync: the same weights, and (SyncBN's statistics being those of the two processes' batches together) the
same batch-norm running statistics, which plain per-process BN would not give."""
import os
import os.path as osp
import subprocess
import textwrap

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

RANK_DUMP = textwrap.dedent('''
    import hashlib, os
    import torch
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    @HOOKS.register_module()
    class RankWeightDump(Hook):
        """After the first iteration, each rank writes digests of its parameters and of its BN statistics."""
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if runner.iter != 1:
                return
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            digests = []
            for tensors in (model.named_parameters(), model.named_buffers()):
                digest = hashlib.sha1()
                for name, tensor in sorted(tensors):
                    digest.update(name.encode())
                    digest.update(tensor.detach().float().numpy().tobytes())
                digests.append(digest.hexdigest())
            synced = sum(type(m).__name__ == 'CPUSyncBatchNorm' for m in model.modules())
            rank = torch.distributed.get_rank()
            world = torch.distributed.get_world_size()
            with open(os.path.join(runner.work_dir, f'rank{rank}.txt'), 'w') as f:
                f.write(f'{world} {synced} {digests[0]} {digests[1]}')
''')


@pytest.mark.slow
def test_two_cpu_processes_agree_after_a_step(tmp_path):
    from lwmm.datasets.shapes import make_shapes
    make_shapes(str(tmp_path / 'data' / 'shapes'), tasks=('coco', ), scale=0.04, seed=2)
    (tmp_path / 'rank_dump.py').write_text(RANK_DUMP)
    config = tmp_path / 'dist_demo.py'
    config.write_text(f"_base_ = '{ROOT}/configs/demo/ssdlite_ghostnetv2_shapes.py'\n"
                      "custom_imports = dict(imports=['lwmm', 'rank_dump'], allow_failed_imports=False)\n"
                      "custom_hooks = [dict(type='RankWeightDump')]\n"
                      "sync_bn = 'torch'\n")  # mmengine converts every BN to SyncBN; lwmm runs it on CPU
    work_dir = tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=f'{ROOT}:{tmp_path}', PYTHON=os.sys.executable, PORT='29731',
               OMP_WAIT_POLICY='PASSIVE')
    result = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(config),
         '2', '--work-dir', str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=5',
         'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False'],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    digests = [(work_dir / f'rank{rank}.txt').read_text().split() for rank in (0, 1)]
    assert digests[0][0] == digests[1][0] == '2'
    assert int(digests[0][1]) > 0 and digests[0][1] == digests[1][1]  # the model's BN layers, converted
    assert digests[0][2] == digests[1][2], 'the two ranks hold different weights after a step'
    assert digests[0][3] == digests[1][3], 'the two ranks hold different BN statistics after a step'
    assert (work_dir / 'epoch_1.pth').exists()


def test_slurm_variables_become_the_rendezvous_of_a_cpu_process_group():
    from lwmm.engine.launch import slurm_rendezvous_env
    environ = dict(SLURM_PROCID='3', SLURM_NTASKS='4', SLURM_LOCALID='1', SLURM_NODELIST='node7', MASTER_PORT='29600')
    slurm_rendezvous_env(environ)
    assert (environ['RANK'], environ['WORLD_SIZE'], environ['LOCAL_RANK']) == ('3', '4', '1')
    # one host: scontrol expands it to itself, and without scontrol the list itself is used
    assert environ['MASTER_PORT'] == '29600' and environ['MASTER_ADDR'] == 'node7'
    with pytest.raises(ValueError, match='SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST not set'):
        slurm_rendezvous_env({})
