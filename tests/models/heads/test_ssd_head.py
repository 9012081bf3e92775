"""lwmm.SSDHead: mmdet 3.3.0's SSDHead, which cannot predict, made to; every lwmm SSD config names it."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config, ConfigDict

from lwmm.models.heads.ssd_head import SSDHead

FEATURE_SIZES = (20, 10, 5, 3, 2, 1)  # a 320x320 input at strides 16, 32, 64, 107, 160, 320
NUM_CLASSES = 3


def head_cfg(**overrides):
    cfg = dict(num_classes=NUM_CLASSES, in_channels=(8, ) * 6, use_depthwise=True,
               anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False,
                                     strides=[16, 32, 64, 107, 160, 320], ratios=[[2, 3]] * 6,
                                     min_sizes=[48, 100, 150, 202, 253, 304],
                                     max_sizes=[100, 150, 202, 253, 304, 320]),
               test_cfg=ConfigDict(nms_pre=1000, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0,
                                   score_thr=0.0, max_per_img=10))
    cfg.update(overrides)
    return cfg


def predict(head):
    torch.manual_seed(0)
    feats = [torch.randn(1, 8, s, s) for s in FEATURE_SIZES]
    with torch.no_grad():
        cls_scores, bbox_preds = head.eval()(feats)
        results = head.predict_by_feat(cls_scores, bbox_preds, rescale=False,
                                       batch_img_metas=[dict(img_shape=(320, 320), scale_factor=(1, 1))])
    return cls_scores, results[0]


def test_mmdet_ssd_head_still_cannot_predict():
    """When this fails, mmdet fixed its head: delete lwmm.SSDHead and name type='SSDHead' again."""
    from mmdet.models.dense_heads import SSDHead as MMDetSSDHead
    assert SSDHead.__mro__[1] is MMDetSSDHead
    with pytest.raises(AttributeError, match="no attribute 'loss_cls'"):
        predict(MMDetSSDHead(**head_cfg()))


def test_built_from_an_mmdet_config_it_predicts_with_softmax():
    """Built as lwmm's configs build it (mmdet's registry, 'lwmm.' prefix); its scores are the softmax over
    the classes and background that SSD trains, without the background column."""
    from mmdet.registry import MODELS
    head = MODELS.build(dict(type='lwmm.SSDHead', **head_cfg()))
    assert type(head) is SSDHead and head.loss_cls is None
    cls_scores, result = predict(head)
    softmax = torch.cat([s.permute(0, 2, 3, 1).reshape(-1, NUM_CLASSES + 1) for s in cls_scores]).softmax(-1)
    assert len(result.scores) == 10 and result.bboxes.shape == (10, 4)
    torch.testing.assert_close(result.scores.max(), softmax[:, :-1].max())


def test_same_state_dict_and_outputs_as_mmdet_head():
    """A checkpoint of mmdet's SSDHead loads into lwmm.SSDHead unchanged and gives the same outputs."""
    from mmdet.models.dense_heads import SSDHead as MMDetSSDHead
    theirs, ours = MMDetSSDHead(**head_cfg()), SSDHead(**head_cfg())
    ours.load_state_dict(theirs.state_dict(), strict=True)
    feats = [torch.randn(1, 8, s, s) for s in FEATURE_SIZES]
    for a, b in zip(sum(map(list, theirs.eval()(feats)), []), sum(map(list, ours.eval()(feats)), [])):
        torch.testing.assert_close(a, b)


def test_a_loss_cls_set_by_mmdet_is_kept(monkeypatch):
    """If mmdet's __init__ ever builds loss_cls, the head keeps it instead of overwriting it with None."""
    from mmdet.models.dense_heads import SSDHead as MMDetSSDHead
    init = MMDetSSDHead.__init__

    def init_with_loss(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.loss_cls = torch.nn.Identity()

    monkeypatch.setattr(MMDetSSDHead, '__init__', init_with_loss)
    assert isinstance(SSDHead(**head_cfg()).loss_cls, torch.nn.Identity)


def test_every_lwmm_ssd_config_names_lwmm_ssd_head(repo_root):
    """configs/det, and the demo configs built on one of them."""
    heads = {}
    paths = glob.glob(osp.join(repo_root, 'configs', 'det', '*.py')) + [
        path for path in glob.glob(osp.join(repo_root, 'configs', 'demo', '*.py')) if '../det/' in open(path).read()]
    for path in sorted(paths):
        head = Config.fromfile(path).get('model', {}).get('bbox_head', {}).get('type', '')
        if head.split('.')[-1] == 'SSDHead':
            heads[osp.relpath(path, repo_root)] = head
    assert any('det/' in p for p in heads) and any('demo/' in p for p in heads), heads
    assert set(heads.values()) == {'lwmm.SSDHead'}, heads


def test_readme_stock_config_swap_builds_and_predicts(repo_root, tmp_path):
    """The README's stock-config example: mmdet's SSDLite config with an lwmm backbone and lwmm.SSDHead."""
    readme = open(osp.join(repo_root, 'README.md')).read()
    example = re.search(r'\*\*Stock configs\.\*\*.*?```python\n(.*?)```', readme, re.S).group(1)
    path = tmp_path / 'stock_ssdlite_ghostnetv2.py'
    path.write_text(re.sub(r'^  ', '', example, flags=re.M))
    cfg = Config.fromfile(str(path))
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model).eval()
    assert type(model.bbox_head) is SSDHead
    from mmdet.structures import DetDataSample
    sample = DetDataSample(metainfo=dict(img_shape=(320, 320), ori_shape=(320, 320), scale_factor=(1., 1.)))
    with torch.no_grad():
        results = model(torch.randn(1, 3, 320, 320), [sample], mode='predict')
    assert results[0].pred_instances.bboxes.shape[1] == 4
