"""Every config under configs/ builds its model and runs one train step and one predict step."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from lwmm.engine.config_checks import check_config

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), "configs")

CONFIG_FILES = sorted(
    osp.relpath(path, CONFIGS) for path in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    if '_base_' not in path)


def _tiny_batch(cfg, size):
    scope = cfg.default_scope
    torch.manual_seed(0)
    images = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8) for _ in range(2)]
    samples = []
    if scope == 'mmdet':
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData
        for _ in images:
            sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                                 scale_factor=(1.0, 1.0), pad_shape=(size, size),
                                                 batch_input_shape=(size, size)))
            sample.gt_instances = InstanceData(bboxes=torch.tensor([[4.0, 6.0, size * 0.6, size * 0.7]]),
                                               labels=torch.tensor([1]))
            samples.append(sample)
    elif scope == 'mmseg':
        from mmseg.structures import SegDataSample
        for _ in images:
            sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                                 pad_shape=(size, size)))
            sample.gt_sem_seg = PixelData(data=torch.randint(0, 2, (1, size, size)))
            samples.append(sample)
    else:
        from mmpretrain.structures import DataSample
        samples = [DataSample().set_gt_label(i) for i in range(len(images))]
    return dict(inputs=images, data_samples=samples)


def _input_size(cfg):
    if cfg.default_scope == 'mmdet':
        return 128
    return 64


@pytest.mark.parametrize('config', CONFIG_FILES)
def test_config_builds_and_steps(config):
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    check_config(cfg)  # the channel and scope checks tools/train.py runs accept every shipped config
    init_default_scope(cfg.default_scope)
    from mmengine.registry import MODELS
    model_cfg = cfg.model
    if cfg.default_scope == 'mmseg':
        model_cfg.data_preprocessor.pop('size', None)  # random crops to 512 would dwarf the tiny batch
        model_cfg.data_preprocessor['size_divisor'] = 32
    model = MODELS.build(model_cfg)
    from mmengine.model import revert_sync_batchnorm
    model = revert_sync_batchnorm(model)
    model.init_weights()
    batch = _tiny_batch(cfg, _input_size(cfg))

    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss), f'{config}: non-finite loss {losses}'
    loss.backward()
    optimizer.step()

    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(batch, False), mode='predict')
    assert len(results) == len(batch['inputs'])
