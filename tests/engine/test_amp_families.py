"""--amp on CPU (lwmm.CPUAmpOptimWrapper, bfloat16 autocast) trains every backbone family.

Each model is built from a real config, then takes two optimiser steps on a tiny batch with the
wrapper --amp selects on a CPU-only machine; the backbone must run in bfloat16 (so autocast is really on),
every loss must be finite and the weights must move and stay finite float32.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from lwmm.engine.amp import CPUAmpOptimWrapper

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CLASSIFIERS = {  # family: (config, backbone overrides that keep the model small)
    'GhostNet': ('configs/cls/ghostnet-0.5x_in1k.py', {}),
    'GhostNetV2': ('configs/cls/ghostnetv2-1.0x_in1k.py', {}),
    'MobileViT': ('configs/cls/mobilevit-xxs_in1k.py', {}),
    'OctResNet': ('configs/cls/oct-resnet50-a0.5_in1k.py', dict(depth=26)),
    'OctMobileNetV2': ('configs/cls/oct-mobilenetv2_in1k.py', {}),
    'DYMobileNetV2': ('configs/cls/dy-mobilenetv2-0.35x_in1k.py', {}),
    'DYMobileNetV3': ('configs/cls/dy-mobilenetv3-small_in1k.py', {}),
    'DYResNet': ('configs/cls/dy-resnet10_in1k.py', {}),
}


def build(config, backbone=None):
    cfg = Config.fromfile(osp.join(ROOT, config))
    init_default_scope(cfg.default_scope)
    if backbone:
        cfg.model.backbone.update(backbone)
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def train_two_steps(model, data):
    """Two --amp steps; returns the losses and the dtype the backbone computed in."""
    dtypes = []
    model.backbone.register_forward_hook(
        lambda module, args, out: dtypes.append((out[-1] if isinstance(out, (tuple, list)) else out).dtype))
    wrapper = CPUAmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    before = [p.detach().clone() for p in model.parameters()]
    model.train()
    losses = [model.train_step(data, wrapper) for _ in range(2)]
    moved = sum(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert moved > 0.5 * len(before), f'only {moved} of {len(before)} parameters changed'
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in model.parameters())
    return losses, dtypes


def assert_finite(losses):
    for step, log_vars in enumerate(losses):
        for name, value in log_vars.items():
            assert torch.isfinite(torch.as_tensor(value)).all(), f'step {step}: {name}={value}'


@pytest.mark.parametrize('family', sorted(CLASSIFIERS))
def test_classifier_trains_in_bfloat16(family):
    from mmpretrain.structures import DataSample
    config, backbone = CLASSIFIERS[family]
    model = build(config, backbone)
    generator = torch.Generator().manual_seed(0)
    # 63 px: odd sizes exercise the octave up-sample-and-add and MobileViT's patch resize
    data = dict(inputs=[torch.randint(0, 256, (3, 63, 63), generator=generator, dtype=torch.uint8)
                        for _ in range(2)],
                data_samples=[DataSample().set_gt_label(label) for label in (0, 3)])
    losses, dtypes = train_two_steps(model, data)
    assert dtypes and all(dtype == torch.bfloat16 for dtype in dtypes)
    assert_finite(losses)


def test_detector_trains_in_bfloat16():
    from mmdet.testing import demo_mm_inputs
    model = build('configs/demo/ssdlite_ghostnetv2_shapes.py')
    data = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 128)] * 2, num_items=[3, 2], num_classes=4)
    losses, dtypes = train_two_steps(model, data)
    assert dtypes and all(dtype == torch.bfloat16 for dtype in dtypes)
    assert_finite(losses)
    assert {'loss_cls', 'loss_bbox'} <= set(losses[-1])


def test_segmentor_trains_in_bfloat16():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    model = build('configs/demo/deeplabv3_ghostnetv2_shapes.py')
    model.data_preprocessor.size = (64, 64)
    generator = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 5, (1, 64, 64), generator=generator))
        samples.append(sample)
    data = dict(inputs=[torch.randint(0, 256, (3, 64, 64), generator=generator, dtype=torch.uint8)
                        for _ in range(2)], data_samples=samples)
    losses, dtypes = train_two_steps(model, data)
    assert dtypes and all(dtype == torch.bfloat16 for dtype in dtypes)
    assert_finite(losses)
    assert any(name.startswith('decode.loss') for name in losses[-1])
