"""The worked swaps of docs/backbones.md (docs/swaps/*.py: stock mmdet / mmseg / mmpretrain configs with an lwmm
backbone) pass lwmm's config check, build as the codebases' own tools build them, load their timm:// weights and
take one train step and one predict step.

Each config is read with mmengine's ``Config.fromfile`` (its ``custom_imports`` import lwmm) and its model
built by mmengine's root ``MODELS`` under the config's ``default_scope``, with the top-level
``data_preprocessor`` as the Runner adds it and SyncBN reverted as the Runner does without a launcher.
``init_weights`` runs through the real ``timm://`` path against the offline hub (tests/conftest.py). The
inputs are tiny random images (batch 2, 64-128 px); the only change to a config is the segmentors'
``data_preprocessor.size``, the 512x512 crop the inputs are padded to, set to the input size.
"""
import glob
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SWAPS = sorted(glob.glob(osp.join(ROOT, 'docs', 'swaps', '*.py')))
#: image side per codebase: FPN's extra levels reach stride 128; segmentation at output stride 8
SIZE = {'mmdet': 128, 'mmseg': 64, 'mmpretrain': 64}


def _data_samples(scope, size, num_classes):
    generator = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        meta = dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size), scale_factor=(1.0, 1.0))
        if scope == 'mmdet':
            from mmdet.structures import DetDataSample
            from mmengine.structures import InstanceData
            sample = DetDataSample(metainfo=meta)
            sample.gt_instances = InstanceData(bboxes=torch.tensor([[8.0, 10.0, 70.0, 90.0]]),
                                               labels=torch.tensor([1]))
        elif scope == 'mmseg':
            from mmengine.structures import PixelData
            from mmseg.structures import SegDataSample
            sample = SegDataSample(metainfo=meta)
            sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, size, size), generator=generator))
        else:
            from mmpretrain.structures import DataSample
            sample = DataSample(metainfo=meta).set_gt_label(int(torch.randint(0, num_classes, (1, ))))
        samples.append(sample)
    return samples


def build_swap(path):
    """(model, default scope) of a swap config, built as mmdet's / mmseg's / mmpretrain's Runner builds it."""
    from mmengine.config import Config
    from mmengine.model.utils import revert_sync_batchnorm
    from mmengine.registry import MODELS, DefaultScope, init_default_scope
    cfg = Config.fromfile(path)
    scope = cfg.default_scope
    init_default_scope(scope)
    model_cfg = cfg.model
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    if scope == 'mmseg':
        model_cfg.data_preprocessor.size = (SIZE[scope], SIZE[scope])
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_cfg)
    return revert_sync_batchnorm(model), cfg


@pytest.mark.parametrize('path', SWAPS, ids=[osp.basename(p) for p in SWAPS])
def test_swap_builds_loads_and_steps(path, offline_timm_hub):
    from mmengine.optim import OptimWrapper

    from lwmm.converters.pretrained import backbone_state_dict
    from lwmm.engine.config_checks import check_config
    torch.manual_seed(0)
    model, cfg = build_swap(path)
    scope = cfg.default_scope
    check_config(cfg)  # lwmm's own checks (channels, frozen without weights, stock leftovers) accept it
    init_cfg = cfg.model.backbone.init_cfg
    assert init_cfg.checkpoint.startswith('timm://')
    offline_timm_hub.add(init_cfg.checkpoint[len('timm://'):])  # also a tag that no file under configs/ names
    model.init_weights()

    # the backbone holds the converted timm weights, not its random initialisation
    expected = backbone_state_dict(model.backbone, init_cfg.checkpoint, init_cfg.get('prefix'))
    own = model.backbone.state_dict()
    shared = [k for k in expected if k in own and own[k].shape == expected[k].shape]
    assert len(shared) >= 20, f'{osp.basename(path)}: only {len(shared)} backbone tensors come from the checkpoint'
    for key in shared:
        torch.testing.assert_close(own[key], expected[key].to(own[key].dtype), msg=key)

    size = SIZE[scope]
    head = cfg.model.get('decode_head') or cfg.model.get('bbox_head') or cfg.model.get('head') or {}
    num_classes = head.get('num_classes', 2)
    data = dict(inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8) for _ in range(2)],
                data_samples=_data_samples(scope, size, num_classes))
    model.train()
    optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    losses = model.train_step(data, optim_wrapper)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total), losses

    model.eval()
    with torch.no_grad():
        predictions = model.val_step(data)
    assert len(predictions) == 2
    if scope == 'mmdet':
        assert all('pred_instances' in p for p in predictions)
    elif scope == 'mmseg':
        assert predictions[0].pred_sem_seg.data.shape[-2:] == (size, size)
    else:
        assert predictions[0].pred_score.shape == (num_classes, )


def test_every_swap_config_is_quoted_in_the_doc():
    with open(osp.join(ROOT, 'docs', 'backbones.md')) as f:
        doc = f.read()
    for path in SWAPS:
        assert f'<!-- swap:{osp.relpath(path, ROOT)}:start -->' in doc, f'docs/backbones.md does not quote {path}'
