"""The fixes in lwmm.compat: each is needed on the pinned stack, and each works."""
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.config import ConfigDict

import lwmm  # noqa: F401  (applies the fixes)

SAVE_MMENGINE_CHECKPOINT = textwrap.dedent('''
    import sys, tempfile, torch, torch.nn as nn
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)
        def forward(self, inputs, labels=None, mode='loss'):
            return dict(loss=(self.fc(inputs).squeeze(1) - labels).pow(2).mean())

    data = [dict(inputs=torch.randn(2), labels=torch.randn(())) for _ in range(8)]
    work_dir = sys.argv[1]
    runner = Runner(model=Toy(), work_dir=work_dir, train_dataloader=dict(
        dataset=data, sampler=dict(type='DefaultSampler', shuffle=True), batch_size=4,
        collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)), train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)), randomness=dict(seed=1))
    runner.train()
''')


@pytest.fixture(scope='module')
def mmengine_checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('toy')
    subprocess.run([sys.executable, '-c', SAVE_MMENGINE_CHECKPOINT, str(work_dir)], check=True,
                   capture_output=True)
    return str(work_dir / 'epoch_1.pth')


def test_weights_only_load_needs_the_fix(mmengine_checkpoint):
    """Without lwmm, torch's default weights_only load refuses mmengine's own checkpoint."""
    code = f'import torch; torch.load({mmengine_checkpoint!r})'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode != 0 and 'weights_only' in result.stderr


def test_weights_only_load_with_lwmm(mmengine_checkpoint):
    checkpoint = torch.load(mmengine_checkpoint)  # weights_only=True, the torch >= 2.6 default
    assert 'fc.weight' in checkpoint['state_dict'] and checkpoint['meta']['epoch'] == 1
    from mmengine.runner import load_checkpoint
    model = torch.nn.Module()
    model.fc = torch.nn.Linear(2, 1)
    load_checkpoint(model, mmengine_checkpoint, strict=True)


def test_weights_only_still_rejects_arbitrary_objects(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'payload': subprocess.Popen}, path)
    with pytest.raises(Exception, match='weights_only|Unsupported global'):
        torch.load(path)


def _ssd_head_kwargs():
    return dict(num_classes=3, in_channels=(8, 8, 8, 8, 8, 8), use_depthwise=True,
                   anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False,
                                         strides=[16, 32, 64, 107, 160, 320], ratios=[[2, 3]] * 6,
                                         min_sizes=[48, 100, 150, 202, 253, 304],
                                         max_sizes=[100, 150, 202, 253, 304, 320]),
                   test_cfg=ConfigDict(nms_pre=100, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0,
                                 score_thr=0.02, max_per_img=10))


def test_ssd_head_predicts():
    from mmdet.models.dense_heads import SSDHead
    original = SSDHead.__init__.__wrapped__
    bare = SSDHead.__new__(SSDHead)
    original(bare, **_ssd_head_kwargs())
    assert not hasattr(bare, 'loss_cls'), 'mmdet fixed SSDHead: lwmm.compat.fix_ssd_head_loss_cls can go'

    head = SSDHead(**_ssd_head_kwargs()).eval()
    feats = [torch.randn(1, 8, s, s) for s in (20, 10, 5, 3, 2, 1)]
    results = head.predict_by_feat(*head(feats), batch_img_metas=[dict(img_shape=(320, 320), scale_factor=(1, 1))],
                                   rescale=False)
    assert len(results) == 1 and results[0].bboxes.shape[1] == 4
