"""tools/test.py --show-dir for a classifier and a segmentor (detection: tests/tools/test_train_test.py):
one picture per test image, under the work dir."""
import glob
import os
import os.path as osp
import subprocess
import sys

import mmcv
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
pytestmark = pytest.mark.slow
CASES = {
    'cls': ('configs/demo/ghostnet-1.0x_shapes.py', 'imagenet/val/*/*.jpg', 'accuracy/top1'),
    'seg': ('configs/demo/deeplabv3_ghostnetv2_shapes.py', 'ade/ADEChallengeData2016/images/validation/*.jpg',
            'mIoU'),
}


@pytest.mark.parametrize('task', sorted(CASES))
def test_show_dir_draws_every_test_image(shapes_root, tmp_path, task):
    from lwmm.analysis.inference import load_model
    config, test_images, metric = CASES[task]
    (tmp_path / 'data').mkdir()
    os.symlink(shapes_root, tmp_path / 'data' / 'shapes')  # the demo configs read data/shapes/
    model, _ = load_model(osp.join(ROOT, config))
    checkpoint = str(tmp_path / 'random.pth')
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2', OMP_WAIT_POLICY='PASSIVE')
    result = subprocess.run([sys.executable, osp.join(ROOT, 'tools/test.py'), osp.join(ROOT, config), checkpoint,
                             '--work-dir', 'work', '--show-dir', 'vis'], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert metric in result.stdout + result.stderr
    pictures = glob.glob(str(tmp_path / 'work' / 'vis' / '**' / '*.png'), recursive=True)
    expected = glob.glob(osp.join(shapes_root, test_images))
    assert len(pictures) == len(expected) > 0, pictures
    assert not (tmp_path / 'vis').exists()  # relative to the work dir, not the current directory
    assert mmcv.imread(pictures[0]).std() > 5
