"""Checkpoint faults: a truncated file, a file that is not a checkpoint, a checkpoint of another architecture
(through tools/test.py's and --resume's build_runner), and a classifier checkpoint as a detector's backbone
init, which must work."""
import os.path as osp
from argparse import Namespace

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from lwmm.engine.checkpoint_checks import check_checkpoint_fits, read_checkpoint
from lwmm.engine.launch import build_runner, load_config

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')
CLS_CONFIG = osp.join(CONFIGS, 'demo', 'ghostnet-1.0x_shapes.py')
# GhostNet 0.1x: a classifier small enough to build in a blink (its last stage has 96 channels)
TINY = dict(model=dict(backbone=dict(widen_factor=0.1), head=dict(in_channels=96)))


def build_model(cfg):
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


def tiny_cfg(tmp_path, **extra):
    return load_config(Namespace(config=CLS_CONFIG, work_dir=str(tmp_path / 'work'), launcher='none', local_rank=0,
                                 cfg_options=dict(TINY, **extra)))


def save(model, path, name='tiny'):
    torch.save(dict(meta=dict(experiment_name=name), state_dict=model.state_dict()), path)
    return str(path)


@pytest.fixture
def checkpoint(tmp_path):
    cfg = Config.fromfile(CLS_CONFIG)
    cfg.merge_from_dict(TINY)
    return save(build_model(cfg), tmp_path / 'tiny.pth')


def test_truncated_checkpoint_is_named_and_explained(checkpoint):
    with open(checkpoint, 'rb') as f:
        content = f.read()
    with open(checkpoint, 'wb') as f:
        f.write(content[:len(content) // 2])
    with pytest.raises(RuntimeError, match='failed finding central directory') as raw:
        torch.load(checkpoint)  # what torch says alone: no file, no cause
    assert checkpoint not in str(raw.value)
    with pytest.raises(ValueError, match=f"checkpoint '{checkpoint}' .* cannot be loaded: it is a torch zip archive "
                                         'cut short'):
        read_checkpoint(checkpoint)


@pytest.mark.parametrize('content, message', [
    (b'model: ghostnet\nepochs: 10\n', r"it is not a checkpoint: a text file beginning b'model: ghostnet"),
    (b'', r'the file is empty \(0 bytes\)'),
    (b'\x89PNG\r\n\x1a\n' + bytes(range(256)), 'it is not a checkpoint'),
])
def test_file_that_is_not_a_checkpoint_is_named(tmp_path, content, message):
    path = tmp_path / 'notes.pth'
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"checkpoint '{path}' .* cannot be loaded: {message}"):
        read_checkpoint(str(path))


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        read_checkpoint(str(tmp_path / 'nothing.pth'))


@pytest.fixture
def other_architecture(tmp_path):
    """A MobileViT classifier's checkpoint, offered to the GhostNet config."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'demo', 'mobilevit-xxs_shapes.py'))
    return save(build_model(cfg), tmp_path / 'mobilevit.pth', name='mobilevit-xxs_shapes')


def test_mmengine_alone_only_warns_about_another_architecture(tmp_path, other_architecture):
    """Why the check exists: load_from carries on with a model whose weights are mostly random."""
    from mmengine.runner.checkpoint import load_checkpoint
    model = build_model(tiny_cfg(tmp_path))
    before = model.head.layers[-1].fc.weight.clone() if hasattr(model.head, 'layers') else None
    load_checkpoint(model, other_architecture, map_location='cpu', strict=False)  # no exception
    if before is not None:
        assert torch.equal(before, model.head.layers[-1].fc.weight)


def test_test_tool_refuses_a_checkpoint_of_another_architecture(tmp_path, other_architecture):
    cfg = tiny_cfg(tmp_path)
    cfg.load_from = other_architecture  # what tools/test.py sets
    with pytest.raises(ValueError) as error:
        build_runner(cfg, strict_checkpoint=True)
    message = str(error.value)
    for text in (f"checkpoint '{other_architecture}' does not fit this config's model (ImageClassifier with "
                 'lwmm.GhostNet)', 'model keys missing from the checkpoint (backbone.stages.0.1.ghost1.',
                 'checkpoint keys the model does not have (backbone.stages.0.1.expand.',
                 'keys with another shape (backbone.stages.0.0.conv.weight: checkpoint (16, 3, 3, 3) vs model '
                 '(4, 3, 3, 3)', 'its run: mobilevit-xxs_shapes',
                 "init_cfg=dict(type='Pretrained', prefix='backbone.'"):
        assert text in message, message
    assert not (tmp_path / 'work').exists()  # stopped before the Runner made its work dir


def test_resume_refuses_a_checkpoint_of_another_width(tmp_path):
    """Same keys, other shapes (GhostNet 0.2x into 0.1x): each reshaped key is listed with both shapes."""
    wider = tiny_cfg(tmp_path, model=dict(backbone=dict(widen_factor=0.2), head=dict(in_channels=192)))
    path = save(build_model(wider), tmp_path / 'wider.pth')
    cfg = tiny_cfg(tmp_path)
    cfg.resume, cfg.load_from = True, path  # what tools/train.py --resume PATH sets
    with pytest.raises(ValueError, match=r'keys with another shape \(backbone.stages.1.0.ghost1.primary.conv.weight: '
                                         r'checkpoint \(6, 4, 1, 1\) vs model \(4, 4, 1, 1\)'):
        build_runner(cfg)


def test_fine_tuning_load_from_checks_only_the_file(tmp_path, other_architecture, checkpoint):
    """load_from without resume may drop a head on purpose: a readable checkpoint passes, a broken one not."""
    cfg = tiny_cfg(tmp_path)
    assert 'state_dict' in check_checkpoint_fits(cfg, other_architecture, strict=False)
    check_checkpoint_fits(cfg, checkpoint, strict=True)  # the config's own weights fit
    broken = tmp_path / 'broken.pth'
    broken.write_text('not weights')
    with pytest.raises(ValueError, match='not a checkpoint'):
        check_checkpoint_fits(cfg, str(broken), strict=False)


def test_classifier_checkpoint_initialises_a_detector_backbone(tmp_path):
    """ImageNet-style classifier -> SSDLite backbone with init_cfg Pretrained + prefix='backbone.'."""
    cls_cfg = Config.fromfile(osp.join(CONFIGS, 'cls', 'ghostnet-1.0x_in1k.py'))
    torch.manual_seed(0)
    classifier = build_model(cls_cfg)
    path = save(classifier, tmp_path / 'ghostnet_cls.pth', name='ghostnet-1.0x_in1k')

    det_cfg = Config.fromfile(osp.join(CONFIGS, 'det', 'ssdlite_ghostnet_coco.py'))
    det_cfg.model.backbone.init_cfg = dict(type='Pretrained', prefix='backbone.', checkpoint=path)
    detector = build_model(det_cfg)
    expected = {k[len('backbone.'):]: v for k, v in classifier.state_dict().items() if k.startswith('backbone.')}
    before = detector.backbone.state_dict()
    assert before.keys() == expected.keys()
    assert not all(torch.equal(before[k], expected[k]) for k in expected if k.endswith('conv.weight'))
    detector.init_weights()
    loaded = detector.backbone.state_dict()
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)
