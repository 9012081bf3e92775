"""``frozen_stages`` freezes what the same number freezes in mmdet's / mmpretrain's version of the network.

Each backbone and its OpenMMLab counterpart are laid out as the same list of units (stem, then every
block in order, then the final conv); for each unit the two must agree on ``requires_grad`` of every
parameter and on the train / eval mode of every norm layer, after ``train()``. Where the stage division
gives no lwmm number for an OpenMMLab one, or OpenMMLab itself differs, the mapping below says so and
docs/backbones.md documents it.
"""
import itertools

import pytest
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from lwmm.models.backbones.dy_mobilenet import DYMobileNetV2, DYMobileNetV3
from lwmm.models.backbones.dy_resnet import DYResNet
from lwmm.models.backbones.ghostnet import GhostNet
from lwmm.models.backbones.mobilevit import MobileViT
from lwmm.models.backbones.oct_mobilenet import OctMobileNetV2
from lwmm.models.backbones.oct_resnet import OctResNet


def _our_units(model):
    """Stem modules, blocks and final conv of an lwmm backbone, in order."""
    return [[m] for m in itertools.chain(*model.stages)]


def _resnet_units(model):
    """mmdet's / mmpretrain's ResNet: stem conv + norm, max pool, the blocks of layer1..4."""
    return [[model.conv1, model.norm1], [model.maxpool]] + [[block] for block in itertools.chain(
        *(getattr(model, name) for name in model.res_layers))]


def _mobilenet_v2_units(model):
    return [[model.conv1]] + [[block] for name in model.layers[:-1] for block in getattr(model, name)] + [[model.conv2]]


def _mobilenet_v3_units(model):
    """mmpretrain's MobileNetV3: layer0 is the stem, the last layer the final conv, one block per layer between."""
    return [[getattr(model, name)] for name in model.layers]


def _mobilevit_units(model):
    return [[model.stem]] + [[block] for layer in model.layers for block in layer] + [[model.conv_1x1_exp]]


def _state(modules):
    """(requires_grad of the parameters, training of the norm layers), each one value or None when absent."""
    grads = {p.requires_grad for m in modules for p in m.parameters()}
    norms = {n.training for m in modules for n in m.modules() if isinstance(n, _BatchNorm)}
    assert len(grads) <= 1 and len(norms) <= 1, 'a unit is partly frozen'
    return (grads.pop() if grads else None, norms.pop() if norms else None)


def _compare(ours, theirs, our_units, their_units, exceptions=()):
    ours.train(), theirs.train()
    ours, theirs = our_units(ours), their_units(theirs)
    assert len(ours) == len(theirs)
    differ = [index for index, (a, b) in enumerate(zip(ours, theirs)) if _state(a) != _state(b)]
    assert differ == sorted(exceptions), [(i, _state(ours[i]), _state(theirs[i])) for i in differ]
    return ours


def _mmdet_resnet(depth, frozen_stages):
    from mmdet.models.backbones import ResNet
    return ResNet(depth, frozen_stages=frozen_stages, norm_eval=False)  # mmdet's default is True


def _mmpretrain_resnet(depth, frozen_stages):
    from mmpretrain.models.backbones import ResNet
    return ResNet(depth, frozen_stages=frozen_stages, norm_eval=False)


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 2, 3, 4])
@pytest.mark.parametrize('ours, depth, reference', [
    (lambda k: OctResNet(50, alpha=0, frozen_stages=k), 50, _mmdet_resnet),
    (lambda k: OctResNet(50, alpha=0.5, frozen_stages=k), 50, _mmdet_resnet),
    (lambda k: OctResNet(50, alpha=0, frozen_stages=k), 50, _mmpretrain_resnet),
    (lambda k: DYResNet(18, frozen_stages=k), 18, _mmdet_resnet),
    (lambda k: DYResNet(18, frozen_stages=k), 18, _mmpretrain_resnet),
], ids=['oct-resnet50-a0-mmdet', 'oct-resnet50-a0.5-mmdet', 'oct-resnet50-a0-mmpretrain', 'dy-resnet18-mmdet',
        'dy-resnet18-mmpretrain'])
def test_resnet_families_freeze_as_resnet(ours, depth, reference, frozen_stages):
    """The same number freezes the same modules: mmdet's RetinaNet-R50 (frozen_stages=1: stem + layer1)
    with an Oct-ResNet or DY-ResNet swapped in freezes what it did with ResNet."""
    theirs = reference(depth, frozen_stages)
    units = _compare(ours(frozen_stages), theirs, _our_units, _resnet_units)
    blocks = sum(len(getattr(theirs, name)) for name in theirs.res_layers[:max(frozen_stages, 0)])
    expected = 0 if frozen_stages < 0 else 1 + blocks  # the stem conv, then whole residual layers
    assert sum(_state(unit)[0] is False for unit in units) == expected


#: lwmm frozen_stages -> mmpretrain MobileNetV2's; its 4 and 6 end inside an lwmm stage
MOBILENET_V2 = {-1: -1, 0: 0, 1: 1, 2: 2, 3: 3, 4: 5, 5: 7}


@pytest.mark.parametrize('frozen_stages', sorted(MOBILENET_V2))
@pytest.mark.parametrize('ours', [
    lambda k: DYMobileNetV2(widen_factor=0.35, frozen_stages=k),
    lambda k: OctMobileNetV2(widen_factor=0.35, frozen_stages=k),
], ids=['dy-mobilenetv2', 'oct-mobilenetv2'])
def test_mobilenet_v2_families_freeze_as_mmpretrain(ours, frozen_stages):
    """Two differences, on purpose: a frozen stem's BN is in eval mode here (mmpretrain freezes the stem's
    parameters but keeps its BN statistics updating), and 5 freezes the final 1x1 conv too (mmpretrain's
    7, its largest, leaves it trainable)."""
    from mmpretrain.models.backbones import MobileNetV2
    theirs = MobileNetV2(widen_factor=0.35, frozen_stages=MOBILENET_V2[frozen_stages])
    exceptions = ([0] if frozen_stages >= 0 else []) + ([18] if frozen_stages == 5 else [])
    units = _compare(ours(frozen_stages), theirs, _our_units, _mobilenet_v2_units, exceptions)
    if frozen_stages >= 0:
        assert _state(units[0]) == (False, False)
    if frozen_stages == 5:
        assert _state(units[18]) == (False, False)


#: lwmm frozen_stages -> mmpretrain MobileNetV3's, per arch (its layer 0 is the stem)
MOBILENET_V3 = {
    'small': {-1: -1, 0: 0, 1: 0, 2: 1, 3: 3, 4: 8, 5: 12},
    'large': {-1: -1, 0: 0, 1: 1, 2: 3, 3: 6, 4: 12, 5: 16},
}


@pytest.mark.parametrize('arch, frozen_stages', [(arch, k) for arch in MOBILENET_V3 for k in MOBILENET_V3[arch]])
def test_dy_mobilenet_v3_against_mmpretrain(arch, frozen_stages):
    from mmpretrain.models.backbones import MobileNetV3
    theirs = MobileNetV3(arch, frozen_stages=MOBILENET_V3[arch][frozen_stages])
    _compare(DYMobileNetV3(arch, frozen_stages=frozen_stages), theirs, _our_units, _mobilenet_v3_units)


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 2, 3, 4])
def test_mobilevit_against_mmpretrain(frozen_stages):
    """mmpretrain's MobileViT freezes its layers[0..k-1] but never its stem: the stem (unit 0) differs for
    every k >= 0. Its largest number, 4, leaves layers[4] and the final conv trainable: lwmm's 5 (everything)
    has no counterpart."""
    from mmpretrain.models.backbones import MobileViT as Reference
    theirs = Reference('xx_small', frozen_stages=frozen_stages)
    ours = MobileViT('xx_small', frozen_stages=frozen_stages)
    _compare(ours, theirs, _our_units, _mobilevit_units, [0] if frozen_stages >= 0 else [])


@pytest.mark.parametrize('build', [
    lambda k: GhostNet(widen_factor=0.5, frozen_stages=k),
    lambda k: OctResNet(26, alpha=0.5, frozen_stages=k),
    lambda k: DYMobileNetV2(widen_factor=0.35, frozen_stages=k),
], ids=['ghostnet', 'oct-resnet26', 'dy-mobilenetv2'])
def test_contract_stem_then_whole_stages(build):
    """The contract itself: -1 nothing, 0 the stem alone, k the stem and stages 0..k-1; the range ends at
    the number of stages, and frozen modules stay frozen and in eval mode through train()."""
    num_stages = len(build(-1).stages)
    for frozen_stages in range(-1, num_stages + 1):
        model = build(frozen_stages).train()
        stem = list(model.stages[0])[:model.stem_length]
        for index, stage in enumerate(model.stages):
            for position, module in enumerate(stage):
                frozen = index < frozen_stages or (frozen_stages == 0 and index == 0 and module in stem)
                params = list(module.parameters())
                assert all(p.requires_grad != frozen for p in params), (frozen_stages, index, position)
                if frozen:
                    assert not any(m.training for m in module.modules())
    with pytest.raises(ValueError, match=rf'frozen_stages={num_stages + 1}.*1\.\.{num_stages}'):
        build(num_stages + 1)
    with pytest.raises(ValueError, match='frozen_stages'):
        build(True)


def test_stem_length():
    assert OctResNet.stem_length == DYResNet.stem_length == 2
    assert isinstance(list(DYResNet(10).stages[0])[1], nn.MaxPool2d)
    for cls in (GhostNet, MobileViT, DYMobileNetV2, DYMobileNetV3, OctMobileNetV2):
        assert cls.stem_length == 1
