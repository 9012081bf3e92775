"""End to end through tools/train.py and tools/test.py on the shapes data, one short run per task."""
import glob
import hashlib
import json
import os
import os.path as osp
import pickle
import re
import signal
import subprocess
import sys
import time

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A folder holding data/shapes (a small copy), where the demo configs' relative paths resolve."""
    from lwmm.datasets.shapes import make_shapes
    space = tmp_path_factory.mktemp('space')
    make_shapes(str(space / 'data' / 'shapes'), scale=0.06, seed=1)
    return space


def run_tool(workspace, tool, *args, timeout=600):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2', OMP_WAIT_POLICY='PASSIVE')
    result = subprocess.run([sys.executable, osp.join(ROOT, 'tools', tool), *args], cwd=workspace, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def scalars(work_dir):
    logs = sorted(
        osp.join(dirpath, name) for dirpath, _, names in os.walk(work_dir) for name in names
        if name.endswith('.json') and 'vis_data' in dirpath)
    return [json.loads(line) for path in logs for line in open(path)]


TASKS = {
    'ssdlite': ('configs/demo/ssdlite_ghostnetv2_shapes.py', 'coco/bbox_mAP',
                ['train_dataloader.batch_size=4']),
    'retinanet': ('configs/demo/retinanet_ghostnet_fpn_shapes.py', 'coco/bbox_mAP',
                  ['train_dataloader.batch_size=2']),
    'deeplabv3': ('configs/demo/deeplabv3_ghostnetv2_shapes.py', 'mIoU', []),
    'classifier': ('configs/demo/ghostnet-1.0x_shapes.py', 'accuracy/top1', []),
}


#: what one image's prediction holds in results.pkl (tools/test.py --out), per task
PREDICTION = {'ssdlite': 'pred_instances', 'retinanet': 'pred_instances', 'deeplabv3': 'pred_sem_seg',
              'classifier': 'pred_score'}


#: the validation images of each task in the workspace's data/shapes
VAL_IMAGES = {'ssdlite': 'data/shapes/coco/val2017/*.jpg', 'retinanet': 'data/shapes/coco/val2017/*.jpg',
              'deeplabv3': 'data/shapes/ade/ADEChallengeData2016/images/validation/*.jpg',
              'classifier': 'data/shapes/imagenet/val/*/*.jpg'}


def metric_value(output, metric):
    """The value the test run's log gives ``metric`` (``Epoch(test) [n/n] ... coco/bbox_mAP: 0.0123 ...``; iteration-
    based configs log ``Iter(test)``)."""
    found = re.findall(rf'(?:Epoch|Iter)\(test\).*?\s{re.escape(metric)}: (-?[\d.]+|nan)', output)
    assert found, f'no {metric} in the test log: ' + output[-2000:]
    return float(found[-1])


@pytest.mark.parametrize('task', sorted(TASKS))
def test_train_then_test(workspace, task):
    config, metric, options = TASKS[task]
    work_dir = str(workspace / f'work_{task}')
    schedule = ['train_cfg.max_iters=4', 'train_cfg.val_interval=4'] if task == 'deeplabv3' else \
        ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1']
    # One epoch of RetinaNet from scratch scores every box below its 0.05 threshold (mmdet then reports "results
    # of the whole dataset is empty" and no metric): the check keeps all boxes, so that detections are made,
    # written and scored.
    thresholds = ['model.test_cfg.score_thr=0.0'] if task == 'retinanet' else []
    run_tool(workspace, 'train.py', osp.join(ROOT, config), '--work-dir', work_dir,
             '--cfg-options', *schedule, *options, *thresholds)
    checkpoint = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    show = ['--show-dir', 'vis'] if task == 'ssdlite' else []
    output = run_tool(workspace, 'test.py', osp.join(ROOT, config), checkpoint, '--work-dir', work_dir,
                      '--out', osp.join(work_dir, 'results.pkl'), *show,
                      *(['--cfg-options', *thresholds] if thresholds else []))
    if show:  # mmdet draws ground truth beside predictions, one picture per test image
        pictures = [name for _, _, names in os.walk(work_dir) for name in names if name.endswith('.jpg')]
        assert len(pictures) == 6, pictures
    assert 'results of the whole dataset is empty' not in output
    value = metric_value(output, metric)
    assert 0 <= value <= (100 if task in ('deeplabv3', 'classifier') else 1), value
    with open(osp.join(work_dir, 'results.pkl'), 'rb') as f:
        results = pickle.load(f)
    assert len(results) == len(glob.glob(str(workspace / VAL_IMAGES[task]))), len(results)  # each, once
    predictions = [result[PREDICTION[task]] for result in results]
    if task in ('ssdlite', 'retinanet'):
        assert all(len(p['bboxes']) > 0 and len(p['bboxes']) == len(p['scores']) for p in predictions)


def test_killed_training_resumes(workspace):
    """SIGKILL once a checkpoint is written; --resume continues from that checkpoint, not from scratch, to the end."""
    config = osp.join(ROOT, 'configs/demo/ghostnet-1.0x_shapes.py')
    work_dir = workspace / 'work_resume'
    options = ['--cfg-options', 'train_cfg.max_epochs=3', 'train_cfg.val_interval=10']
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2', OMP_WAIT_POLICY='PASSIVE')
    process = subprocess.Popen([sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir',
                                str(work_dir), *options], cwd=workspace, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pointer = work_dir / 'last_checkpoint'  # mmengine writes it once the checkpoint file is complete
    deadline = time.time() + 300
    while not (pointer.exists() and pointer.stat().st_size) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = re.fullmatch(r'.*epoch_(\d)\.pth', pointer.read_text().strip())
    assert done and int(done.group(1)) < 3, pointer.read_text()  # killed before the end
    done = int(done.group(1))
    kept = work_dir / f'epoch_{done}.pth'
    digest = hashlib.sha256(kept.read_bytes()).hexdigest()

    output = run_tool(workspace, 'train.py', config, '--work-dir', str(work_dir), '--resume', *options)
    # mmengine's Runner logs where it resumed from and at which epoch; a run from scratch logs neither
    assert re.search(rf'Auto resumed from the latest checkpoint \S*epoch_{done}\.pth', output), output[-3000:]
    assert f'resumed epoch: {done},' in output, output[-3000:]
    saved = [int(epoch) for epoch in re.findall(r'Saving checkpoint at (\d+) epochs', output)]
    assert saved == list(range(done + 1, 4)), saved  # epochs after the checkpoint, none before
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == digest  # the resumed-from file was not rewritten
    assert (work_dir / 'epoch_3.pth').exists()


def test_missing_dataset_is_one_clear_error(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'),
                             osp.join(ROOT, 'configs/det/ssdlite_ghostnetv2_coco.py')], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()
    assert any('FileNotFoundError' in line for line in last[-12:]) and 'data/coco/' in result.stderr
    assert 'make_shapes.py' in result.stderr


def test_amp_trains_with_finite_loss(workspace):
    """--amp on this machine: bfloat16 autocast on CPU (mmengine's AmpOptimWrapper needs a GPU)."""
    work_dir = str(workspace / 'work_amp')
    output = run_tool(workspace, 'train.py', osp.join(ROOT, 'configs/demo/ghostnet-1.0x_shapes.py'), '--amp',
                      '--work-dir', work_dir, '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=5',
                      'default_hooks.logger.interval=1')
    import torch
    wrapper = 'AmpOptimWrapper' if torch.cuda.is_available() else 'lwmm.CPUAmpOptimWrapper'
    assert f"type='{wrapper}'" in output, output[-3000:]  # the config the Runner logs, after enable_amp
    losses = [entry['loss'] for entry in scalars(work_dir) if 'loss' in entry]
    assert losses and all(loss == loss and abs(loss) < 1e4 for loss in losses)
