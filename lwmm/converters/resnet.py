"""timm ``resnet18`` / ``resnet50`` -> the static layout of lwmm's DY-ResNet-18 and Oct-ResNet-50.

Neither paper published weights that timm carries; both networks start from the vanilla ResNet's
ImageNet weights: DY-ResNet-18 exactly (every K kernel a copy of the static kernel), Oct-ResNet-50 as
a warm start (``octconv`` slices each conv into the four octave paths; the low-frequency paths then
see half-resolution maps, so the network is not the vanilla one until fine-tuned, except at alpha 0).
DY-ResNet-10 has no vanilla twin with published weights.

timm's ResNet (torchvision's names): ``conv1`` / ``bn1`` (stem), ``layer<n>.<i>.conv<k>`` / ``bn<k>`` /
``downsample.0`` (conv) / ``downsample.1`` (BN), ``fc``. lwmm's staged ResNets put the stem (conv,
max pool) and ``layer1`` in stage 0, so ``layer1.<i>`` is ``stages.0.<i + 2>`` and ``layer<n>.<i>``
(n > 1) ``stages.<n - 1>.<i>``; each conv with its BN is an mmcv ``ConvModule`` (``conv``, ``bn``).
Inputs: ImageNet mean/std on RGB, as mmdet's ResNet configs.
"""
import re
from typing import Dict

import torch

from . import check_converted, register_timm_converter, static_layout

#: timm name -> (lwmm backbone, depth). The weights start a backbone (DY: new attention layers; Oct: the
#: paths sliced), so no lwmm classifier config loads them strictly.
RESNET_MODELS = {
    'resnet18': ('DYResNet', 18),
    'resnet50': ('OctResNet', 50),
}


def _build(name: str):
    backbone_type, depth = RESNET_MODELS[name]
    if backbone_type == 'DYResNet':
        from lwmm.models.backbones.dy_resnet import DYResNet
        return DYResNet(depth=depth)
    from lwmm.models.backbones.oct_resnet import OctResNet
    return OctResNet(depth=depth, alpha=0.0)


def _rename(key: str):
    if key.startswith('conv1.'):
        return 'backbone.stages.0.0.conv.' + key[len('conv1.'):]
    if key.startswith('bn1.'):
        return 'backbone.stages.0.0.bn.' + key[len('bn1.'):]
    if key.startswith('fc.'):
        return 'head.fc.' + key[len('fc.'):]
    match = re.match(r'^layer(\d)\.(\d+)\.(.+)$', key)
    if not match:
        return None
    layer, block, rest = int(match.group(1)), int(match.group(2)), match.group(3)
    stage, position = layer - 1, block + 2 if layer == 1 else block
    for pattern, repl in ((r'^conv(\d)\.', r'conv\1.conv.'), (r'^bn(\d)\.', r'conv\1.bn.'),
                          (r'^downsample\.0\.', 'downsample.conv.'), (r'^downsample\.1\.', 'downsample.bn.')):
        new_rest, hits = re.subn(pattern, repl, rest)
        if hits:
            return f'backbone.stages.{stage}.{position}.{new_rest}'
    return None


@register_timm_converter(*RESNET_MODELS, config=lambda name: None,
                         backbones=lambda name: [dict(type=RESNET_MODELS[name][0], depth=RESNET_MODELS[name][1])])
def convert_resnet(timm_name: str, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename timm ResNet keys to the static layout of lwmm's DY-ResNet / Oct-ResNet (``backbone.*``,
    ``head.fc.*``). Raises ValueError when ``state_dict`` is not of ``timm_name``."""
    backbone_type, depth = RESNET_MODELS[timm_name]
    out, unmapped = {}, []
    for key, value in state_dict.items():
        new_key = _rename(key)
        if new_key is None:
            unmapped.append(key)
        else:
            out[new_key] = value
    backbone = _build(timm_name)
    expected = {f'backbone.{k}': v for k, v in static_layout(backbone).items()}
    expected.update({'head.fc.weight': torch.Size([1000, backbone.stage_channels[-1]]),
                     'head.fc.bias': torch.Size([1000])})
    check_converted(out, expected, f'timm {timm_name!r} (lwmm {backbone_type} depth={depth})', unmapped)
    return out
