"""Issue 18, points 1-4: an lwmm backbone swapped into a stock mmdet / mmseg config fails with the fix in the
message through mmengine's plain ``Runner.from_cfg`` and the codebase's ``MODELS.build`` (what mmdet's and
mmseg's own tools/train.py call), not only through lwmm's tools; and the README's snippet is a complete swap.
"""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import Runner

from lwmm.engine.config_checks import check_config

README = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'README.md')
FASTER_RCNN = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
PSPNET = 'mmseg::pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py'
# MobileViT-S into PSPNet with _delete_ and the right channels: only model.pretrained is left as stock
MOBILEVIT_PSPNET = ("custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)\n"
                    "model = dict(backbone=dict(_delete_=True, type='lwmm.MobileViT', arch='small', "
                    "out_indices=(3, 4)), decode_head=dict(in_channels=640, in_index=1), "
                    "auxiliary_head=dict(in_channels=128, in_index=0){})")


def stock_config(tmp_path, base: str, body: str) -> Config:
    path = tmp_path / 'swap.py'
    path.write_text(f'_base_ = {base!r}\n{body}\n')
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work_dir')
    return cfg


def readme_snippet() -> str:
    """The README's first python block: the swap a user pastes."""
    with open(README) as file:
        return re.search(r'```python\n(.*?)```', file.read(), re.S).group(1)


def runner_error(cfg, error_type):
    with pytest.raises(error_type) as error:
        Runner.from_cfg(cfg)
    return str(error.value)


def test_point1_snippet_without_delete_names_the_class_and_the_fix(tmp_path):
    """The README's old snippet (no _delete_) in stock Faster R-CNN: ResNet's keys are merged in."""
    cfg = stock_config(tmp_path, FASTER_RCNN, "custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)\n"
                       "model = dict(backbone=dict(type='lwmm.GhostNetV2', widen_factor=1.0, out_indices=(3, 4)))")
    message = runner_error(cfg, TypeError)
    assert 'GhostNetV2 got keyword arguments it does not take' in message and 'GhostNet.__init__' not in message
    assert "depth, num_stages, style: the old backbone's keys were merged in: add _delete_=True" in message
    with pytest.raises(TypeError, match='add _delete_=True'):  # lwmm's check, which builds the backbone
        check_config(cfg)


def test_point2_mmseg_pretrained_says_init_cfg(tmp_path):
    cfg = stock_config(tmp_path, PSPNET, MOBILEVIT_PSPNET.format(''))
    assert cfg.model.pretrained == 'open-mmlab://resnet50_v1c'
    fix = ("set model.pretrained=None and model.backbone.init_cfg=dict(type='Pretrained', "
           "checkpoint='timm://mobilevit_s.cvnets_in1k', prefix='backbone.')")
    assert fix in runner_error(cfg, TypeError)
    with pytest.raises(ValueError) as error:  # lwmm's check catches it before building, with the same fix
        check_config(cfg)
    assert "model.pretrained='open-mmlab://resnet50_v1c'" in str(error.value) and fix in str(error.value)
    # the fix applied: the check passes and mmengine builds the model
    fixed = stock_config(tmp_path, PSPNET, MOBILEVIT_PSPNET.format(', pretrained=None'))
    check_config(fixed)
    assert type(Runner.from_cfg(fixed).model.backbone).__name__ == 'MobileViT'


def test_point3_mobilevit_widen_factor_says_arch():
    with pytest.raises(TypeError) as error:
        MODELS.build(dict(type='lwmm.MobileViT', widen_factor=0.75))
    assert "widen_factor: MobileViT chooses its size by arch: arch='xx_small' | 'x_small' | 'small'" in str(error.value)


def test_point4_type_typo_says_did_you_mean(tmp_path):
    cfg = stock_config(tmp_path, FASTER_RCNN, readme_snippet().replace("'lwmm.GhostNetV2'", "'lwmm.GhostnetV2'"))
    assert cfg.model.backbone.type == 'lwmm.GhostnetV2'
    assert "did you mean type='lwmm.GhostNetV2'?" in runner_error(cfg, KeyError)
    from mmdet.registry import MODELS as MMDET_MODELS
    with DefaultScope.overwrite_default_scope('mmdet'):  # what mmdet's tools/train.py builds through
        with pytest.raises(KeyError, match=r"did you mean type='lwmm\.GhostNetV2'"):
            MMDET_MODELS.build(dict(type='lwmm.GhostnetV2'))
    with pytest.raises(ValueError, match=r"model\.backbone\.type='lwmm\.GhostnetV2' is not an lwmm type: did you "
                       r"mean type='lwmm\.GhostNetV2'\?"):
        check_config(cfg)


def test_point4_misses_far_from_lwmm_names_stay_mmengines():
    """Only near misses raise; mmengine's lookups keep returning None (and ``in`` False) otherwise."""
    import lwmm.registry
    assert lwmm.registry.MODELS.get('NoSuchNet') is None
    assert 'GhostnetV2' not in lwmm.registry.MODELS and 'GhostNetV2' in lwmm.registry.MODELS
    with pytest.raises(KeyError, match='is not in the mmdet::model registry'):
        with DefaultScope.overwrite_default_scope('mmdet'):
            MODELS.build(dict(type='lwmm.NoSuchNet'))


def test_readme_snippet_builds_stock_faster_rcnn_and_runs(tmp_path):
    cfg = stock_config(tmp_path, FASTER_RCNN, readme_snippet())
    check_config(cfg)
    model = Runner.from_cfg(cfg).model.eval()  # built, not initialised: no download
    from mmdet.structures import DetDataSample
    sample = DetDataSample(metainfo=dict(img_shape=(128, 160), ori_shape=(128, 160), scale_factor=(1., 1.)))
    with torch.no_grad():
        results = model(torch.rand(1, 3, 128, 160), [sample], mode='predict')
    assert type(model.backbone).__name__ == 'GhostNetV2' and model.backbone.out_channels == (24, 40, 112, 960)
    assert len(results) == 1 and results[0].pred_instances.bboxes.shape[-1] == 4
