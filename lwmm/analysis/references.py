"""What each lwmm model is benchmarked against, and how those references are built.

Classifiers have *twins*, the same architecture in timm (``ghostnet_*``, ``ghostnetv2_*``, ``mobilevit_*``:
timm's checkpoints convert to lwmm's with lwmm.converters), and *baselines*, the static network a dynamic or
octave network is built from (mmpretrain's MobileNetV2 / MobileNetV3 / ResNet classifiers from mmpretrain's
own configs, timm's ``mobilenetv3_*``), for the cost of the technique. Detectors and segmentors are compared
with mmdet's SSDLite-MobileNetV2 and mmseg's DeepLabV3-MobileNetV2, from those codebases' configs.
"""
import functools
import os.path as osp
import re
from typing import List, Optional, Tuple

#: (config stem prefix, family), longest prefixes first.
FAMILIES = [
    ('ghostnetv2', 'GhostNetV2'),
    ('ghostnet', 'GhostNet'),
    ('mobilevit', 'MobileViT'),
    ('dy-mobilenetv2', 'DY-MobileNetV2'),
    ('dy-mobilenetv3', 'DY-MobileNetV3'),
    ('dy-resnet', 'DY-ResNet'),
    ('oct-resnet', 'Oct-ResNet'),
    ('oct-mobilenetv2', 'Oct-MobileNetV2'),
    ('ssdlite', 'SSDLite'),
    ('retinanet', 'RetinaNet'),
    ('deeplabv3', 'DeepLabV3'),
]

_MOBILENET_V2 = 'mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py'

#: mmpretrain classifiers used as baselines: name -> (mmpretrain's config, backbone arguments changed).
#: mmpretrain ships MobileNetV2 at 1.0x only; its narrower widths keep the 1280-channel head.
MMPRETRAIN_REFERENCES = {
    'mobilenet-v2-0.35x': (_MOBILENET_V2, dict(widen_factor=0.35)),
    'mobilenet-v2-0.5x': (_MOBILENET_V2, dict(widen_factor=0.5)),
    'mobilenet-v2-0.75x': (_MOBILENET_V2, dict(widen_factor=0.75)),
    'mobilenet-v2-1.0x': (_MOBILENET_V2, {}),
    'mobilenet-v3-small': ('mmpretrain::mobilenet_v3/mobilenet-v3-small_8xb128_in1k.py', {}),
    'mobilenet-v3-large': ('mmpretrain::mobilenet_v3/mobilenet-v3-large_8xb128_in1k.py', {}),
    'resnet18': ('mmpretrain::resnet/resnet18_8xb32_in1k.py', {}),
    'resnet50': ('mmpretrain::resnet/resnet50_8xb32_in1k.py', {}),
}

#: Static baselines of the dynamic / octave classifiers: (config stem regex, [reference names]). The DY-CNN
#: paper compares DY-MobileNetV2/V3 and DY-ResNet with their static networks, OctConv compares
#: Oct-ResNet-50 with ResNet-50 and Oct-MobileNetV2 with MobileNetV2 1.0x. mmpretrain has no ResNet-10.
BASELINES = [
    (r'^dy-mobilenetv2-(?P<w>[\d.]+)x_', ['mmpretrain:mobilenet-v2-{w}x']),
    (r'^dy-mobilenetv3-small_', ['timm:mobilenetv3_small_100', 'mmpretrain:mobilenet-v3-small']),
    (r'^dy-mobilenetv3-large_', ['timm:mobilenetv3_large_100', 'mmpretrain:mobilenet-v3-large']),
    (r'^dy-resnet18_', ['mmpretrain:resnet18']),
    (r'^oct-resnet50-', ['mmpretrain:resnet50']),
    (r'^oct-mobilenetv2_', ['mmpretrain:mobilenet-v2-1.0x']),
]

#: End-to-end references: (config stem regex, reference config).
E2E_REFERENCES = [
    (r'^ssdlite_', 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'),
    (r'^deeplabv3_.*_ade20k', 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py'),
]

REFERENCE_SOURCES = ('timm:', 'mmpretrain:')


def stem_of(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def family_of(name: str) -> str:
    """The family of a config (path or stem); the stem's first word when no family matches."""
    stem = stem_of(name)
    for prefix, family in FAMILIES:
        if stem.startswith(prefix):
            return family
    return stem.split('_')[0]


def is_reference(name: str) -> bool:
    """Whether ``name`` names a reference (``timm:<model>``, ``mmpretrain:<key>``) rather than a config."""
    return name.startswith(REFERENCE_SOURCES) and '::' not in name


@functools.lru_cache(maxsize=1)
def timm_twins() -> dict:
    """{lwmm config stem: timm model name} for the architectures lwmm converts timm's checkpoints of."""
    from lwmm.converters import available_timm_models, timm_config
    # the static twins timm:// also loads (ResNet, MobileNetV2/V3 for the DY and Oct warm starts) have no lwmm
    # classifier of the same architecture: they are baselines, not twins
    configs = {name: timm_config(name) for name in available_timm_models()}
    return {stem_of(config): name for name, config in configs.items() if config}


def references_for(config: str) -> List[Tuple[str, str]]:
    """[(reference model name, 'twin' | 'baseline')] the lwmm classifier ``config`` is compared with.

    Twins are the timm models with lwmm converters (the same architecture, checkpoints interchangeable);
    baselines are listed in ``BASELINES``. Names are ``'timm:<model>'`` or ``'mmpretrain:<key of
    MMPRETRAIN_REFERENCES>'``.
    """
    stem = stem_of(config)
    twin = timm_twins().get(stem)
    if twin:
        return [(f'timm:{twin}', 'twin')]
    for pattern, names in BASELINES:
        match = re.match(pattern, stem)
        if match:
            return [(name.format(**match.groupdict()), 'baseline') for name in names]
    return []


def e2e_reference_for(config: str) -> Optional[str]:
    """The codebase config a detector / segmentor config is compared with, or None."""
    stem = stem_of(config)
    for pattern, reference in E2E_REFERENCES:
        if re.match(pattern, stem):
            return reference
    return None


def classifier_groups(configs):
    """Configs grouped with their references: configs sharing a reference are timed together.

    Returns:
        [(configs, [(reference, kind)])], in the order of the configs.
    """
    groups = []
    for config in configs:
        refs = references_for(config)
        names = {name for name, _ in refs}
        for group_configs, group_refs in groups:
            if names & {name for name, _ in group_refs}:
                group_configs.append(config)
                group_refs.extend(r for r in refs if r[0] not in {n for n, _ in group_refs})
                break
        else:
            groups.append(([config], list(refs)))
    return groups


def reference_config(name: str):
    """The mmengine Config of ``'mmpretrain:<key>'``: mmpretrain's config with the listed backbone changes."""
    key = name.partition(':')[2]
    if not name.startswith('mmpretrain:') or key not in MMPRETRAIN_REFERENCES:
        raise ValueError(f'reference {name!r} is not known: use timm:<model> or mmpretrain:<one of '
                         f'{sorted(MMPRETRAIN_REFERENCES)}>')
    from .config_models import load_config
    config, backbone = MMPRETRAIN_REFERENCES[key]
    cfg = load_config(config)
    cfg.model.backbone.update(backbone)
    return cfg


def build_reference(name: str):
    """A reference classifier (eval mode, random weights) from its name, ``timm:`` or ``mmpretrain:``."""
    source, _, key = name.partition(':')
    if source == 'timm':
        import timm
        return timm.create_model(key, pretrained=False).eval()
    from .config_models import build_model_from_config
    return build_model_from_config(reference_config(name)).eval()


def build_model(name: str):
    """(model in eval mode, (H, W) of its test input or None for a reference) of a config or reference name;
    random weights."""
    if is_reference(name):
        return build_reference(name), None
    from .complexity import default_input_shape
    from .config_models import build_model_from_config, load_config
    cfg = load_config(name)
    return build_model_from_config(cfg).eval(), default_input_shape(cfg)
