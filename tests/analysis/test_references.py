"""lwmm.analysis.references: which reference each lwmm model is compared with, and how it is built."""
import glob
import os.path as osp

import pytest

from lwmm.analysis import references
from lwmm.analysis.references import (FAMILIES, MMPRETRAIN_REFERENCES, classifier_groups, e2e_reference_for,
                                      family_of, is_reference, reference_config, references_for, stem_of)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('stem, expected', [
    ('ghostnet-0.5x_in1k', [('timm:ghostnet_050', 'twin')]),
    ('ghostnet-1.3x_in1k', [('timm:ghostnet_130', 'twin')]),
    ('ghostnetv2-1.6x_in1k', [('timm:ghostnetv2_160', 'twin')]),
    ('mobilevit-xxs_in1k', [('timm:mobilevit_xxs', 'twin')]),
    ('mobilevit-s_in1k', [('timm:mobilevit_s', 'twin')]),
    ('dy-mobilenetv2-0.35x_in1k', [('mmpretrain:mobilenet-v2-0.35x', 'baseline')]),
    ('dy-mobilenetv3-small_in1k', [('timm:mobilenetv3_small_100', 'baseline'),
                                   ('mmpretrain:mobilenet-v3-small', 'baseline')]),
    ('dy-mobilenetv3-large_in1k', [('timm:mobilenetv3_large_100', 'baseline'),
                                   ('mmpretrain:mobilenet-v3-large', 'baseline')]),
    ('oct-resnet50-a0.5_in1k', [('mmpretrain:resnet50', 'baseline')]),
    ('oct-mobilenetv2_in1k', [('mmpretrain:mobilenet-v2-1.0x', 'baseline')]),
    ('dy-resnet10_in1k', []),  # mmpretrain has no ResNet-10
])
def test_references_for(stem, expected):
    assert references_for(f'configs/cls/{stem}.py') == expected


def test_every_reference_resolves():
    """Every classifier config's references name a timm model or an mmpretrain entry, and a known family."""
    import timm
    for config in glob.glob(osp.join(ROOT, 'configs', 'cls', '*.py')):
        for name, kind in references_for(config):
            source, _, key = name.partition(':')
            assert source in ('timm', 'mmpretrain'), name
            assert timm.is_model(key) if source == 'timm' else key in MMPRETRAIN_REFERENCES, name
            assert is_reference(name)
        assert family_of(config) in {family for _, family in FAMILIES}, config
        assert not is_reference(config)
    assert not is_reference('mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py')


def test_mmpretrain_references_come_from_mmpretrains_configs():
    """The baselines are mmpretrain's own classifiers (its configs' heads), narrower MobileNetV2 by width."""
    cfg = reference_config('mmpretrain:mobilenet-v2-0.35x')
    assert cfg.model.backbone == dict(type='MobileNetV2', widen_factor=0.35)
    assert cfg.model.head.type == 'LinearClsHead' and cfg.model.head.in_channels == 1280
    small = reference_config('mmpretrain:mobilenet-v3-small').model.head
    assert small.type == 'StackedLinearClsHead' and small.mid_channels == [1024] and small.act_cfg.type == 'HSwish'
    large = reference_config('mmpretrain:mobilenet-v3-large').model.head
    assert large.in_channels == 960 and large.mid_channels == [1280]
    assert reference_config('mmpretrain:resnet50').model.backbone.depth == 50
    assert reference_config('mmpretrain:mobilenet-v2-1.0x').model.backbone.widen_factor == 1.0  # not changed
    with pytest.raises(ValueError, match="'mmpretrain:resnet34' is not known.*resnet18"):
        reference_config('mmpretrain:resnet34')


def test_build_reference_is_the_configs_model():
    model = references.build_reference('mmpretrain:mobilenet-v2-0.35x')
    assert not model.training and type(model).__name__ == 'ImageClassifier'
    assert model.backbone.widen_factor == 0.35 and model.head.fc.in_features == 1280
    with pytest.raises(ValueError, match='timm:<model>'):
        references.build_reference('torchvision:mobilenet_v2')


def test_groups_share_references():
    configs = [f'configs/cls/{s}_in1k.py' for s in ('dy-mobilenetv2-1.0x', 'ghostnet-1.0x', 'oct-mobilenetv2')]
    groups = classifier_groups(configs)
    assert [[stem_of(c) for c in g] for g, _ in groups] == [
        ['dy-mobilenetv2-1.0x_in1k', 'oct-mobilenetv2_in1k'], ['ghostnet-1.0x_in1k']]
    assert groups[0][1] == [('mmpretrain:mobilenet-v2-1.0x', 'baseline')]


def test_e2e_references():
    assert e2e_reference_for('configs/det/ssdlite_ghostnetv2_coco.py').startswith('mmdet::ssd/ssdlite_mobilenetv2')
    assert e2e_reference_for('configs/seg/deeplabv3_mobilevit-xxs_ade20k.py').startswith('mmseg::mobilenet_v2/')
    assert e2e_reference_for('configs/det/retinanet_ghostnet_fpn_coco.py') is None
