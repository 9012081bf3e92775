"""DY and Oct networks started from their vanilla twin's ImageNet weights (timm://, offline hub).

DY: every one of the K kernels a copy of the static kernel, so the DY backbone computes timm's static
network at any attention and temperature. Oct: the vanilla kernels sliced into the four octave paths;
at alpha 0 the octave network is the vanilla one.
"""
import copy

import pytest
import torch
from mmengine.registry import MODELS

import lwmm  # noqa: F401
from lwmm.converters import convert_timm
from lwmm.converters.octconv import slice_vanilla
from lwmm.models.layers.dynamic_conv import DynamicConv2d


def _backbone(cfg: dict, checkpoint: str):
    backbone = MODELS.build(dict(cfg, init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')))
    backbone.init_weights()
    return backbone.eval()


def _set_attention(backbone, mode: str, seed: int = 0):
    """'random': a copy of ``backbone`` whose every attention returns fixed random weights (a forward hook
    replaces its output); a number: ``backbone`` at that temperature."""
    if mode == 'random':
        backbone = copy.deepcopy(backbone)
    generator = torch.Generator().manual_seed(seed)
    for module in backbone.modules():
        if isinstance(module, DynamicConv2d):
            if mode == 'random':
                weights = torch.rand(module.num_kernels, generator=generator, dtype=torch.float64).softmax(0)
                module.attention.register_forward_hook(lambda m, args, out, w=weights: w.to(out).expand_as(out))
            else:
                module.temperature = float(mode)
    return backbone


# (lwmm backbone, timm tag, input size); MobileNetV3's timm weights use BatchNorm eps 1e-5
DY_TWINS = [
    (dict(type='lwmm.DYMobileNetV2', widen_factor=1.0, out_indices=(4, )), 'mobilenetv2_100.ra_in1k'),
    (dict(type='lwmm.DYMobileNetV2', widen_factor=0.5, out_indices=(4, )), 'mobilenetv2_050.lamb_in1k'),
    (dict(type='lwmm.DYResNet', depth=18, out_indices=(3, )), 'resnet18.tv_in1k'),
    (dict(type='lwmm.DYMobileNetV3', arch='small', out_indices=(4, ), norm_cfg=dict(type='BN', eps=1e-5)),
     'mobilenetv3_small_100.lamb_in1k'),
    (dict(type='lwmm.DYMobileNetV3', arch='large', out_indices=(4, ), norm_cfg=dict(type='BN', eps=1e-5)),
     'mobilenetv3_large_100.ra_in1k'),
]


@pytest.mark.parametrize('cfg, tag', DY_TWINS, ids=[tag for _, tag in DY_TWINS])
def test_dy_network_computes_its_static_twin(offline_timm_hub, cfg, tag):
    offline_timm_hub.add(tag)  # the configs name only some of these tags
    backbone = _backbone(cfg, f'timm://{tag}')
    reference = offline_timm_hub.timm_model(tag)
    dynamic = [m for m in backbone.modules() if isinstance(m, DynamicConv2d)]
    assert dynamic and all(torch.equal(m.weight[0], m.weight[-1]) for m in dynamic)
    # in float64, so that "equal" means equal up to the rounding of sum_k pi_k W = W (about 1e-16)
    backbone, reference = backbone.double(), reference.double()
    torch.manual_seed(1)
    x = torch.randn(2, 3, 96, 96, dtype=torch.float64)
    with torch.no_grad():
        expected = reference.forward_features(x)
        scale = expected.abs().max().item()
        assert scale > 0.1
        for mode in ('random', '1', '0.05', '30'):
            got = _set_attention(backbone, mode)(x)[-1]
            assert (got - expected).abs().max().item() <= 1e-10 * scale, (tag, mode)


def test_static_weight_needs_the_static_shape():
    conv = DynamicConv2d(8, 16, 3, padding=1, K=4)
    with pytest.raises(RuntimeError, match='size mismatch'):
        conv.load_state_dict(dict(conv.state_dict(), weight=torch.zeros(16, 8, 5, 5)))


OCT_TWINS = [
    (dict(type='lwmm.OctResNet', depth=50, out_indices=(3, )), 'resnet50.tv_in1k'),
    (dict(type='lwmm.OctMobileNetV2', widen_factor=1.0, out_indices=(4, )), 'mobilenetv2_100.ra_in1k'),
]


@pytest.mark.parametrize('cfg, tag', OCT_TWINS, ids=[tag for _, tag in OCT_TWINS])
def test_octave_network_at_alpha_0_is_the_vanilla_network(offline_timm_hub, cfg, tag):
    offline_timm_hub.add(tag)
    backbone = _backbone(dict(cfg, alpha=0.0), f'timm://{tag}')
    backbone, reference = backbone.double(), offline_timm_hub.timm_model(tag).double()
    torch.manual_seed(2)
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        expected, got = reference.forward_features(x), backbone(x)[-1]
    assert expected.abs().max() > 0.1
    assert (got - expected).abs().max().item() <= 1e-10 * expected.abs().max().item()


@pytest.mark.parametrize('cfg, tag', OCT_TWINS, ids=[tag for _, tag in OCT_TWINS])
def test_octave_paths_are_slices_of_the_vanilla_kernel(offline_timm_hub, cfg, tag):
    offline_timm_hub.add(tag)
    backbone = _backbone(dict(cfg, alpha=0.5), f'timm://{tag}')
    vanilla = convert_timm(tag.split('.')[0], offline_timm_hub.state_dict(tag))
    name = 'stages.1.0.conv2' if cfg['type'] == 'lwmm.OctResNet' else 'stages.2.0.expand'
    module = backbone.get_submodule(name)
    conv, weight = module.conv, vanilla[f'backbone.{name}.conv.weight']
    oh, ih = conv.out_h, conv.in_h
    assert conv.out_l > 0
    if conv.in_l:
        assert torch.equal(conv.h2h.weight, weight[:oh, :ih]) and torch.equal(conv.l2l.weight, weight[oh:, ih:])
        assert torch.equal(conv.h2l.weight, weight[oh:, :ih]) and torch.equal(conv.l2h.weight, weight[:oh, ih:])
    else:
        assert torch.equal(conv.h2h.weight, weight[:oh]) and torch.equal(conv.h2l.weight, weight[oh:])
    mean = vanilla[f'backbone.{name}.bn.running_mean']
    assert torch.equal(module.norm_h.running_mean, mean[:oh]) and torch.equal(module.norm_l.running_mean, mean[oh:])
    with torch.no_grad():
        assert torch.isfinite(backbone(torch.randn(1, 3, 64, 64))[-1]).all()


def test_slice_rejects_another_width():
    backbone = MODELS.build(dict(type='lwmm.OctResNet', depth=50, alpha=0.5))
    with pytest.raises(ValueError, match=r'stages\.0\.2\.conv1\.conv\.weight has shape \(32, 64, 1, 1\)'):
        slice_vanilla(backbone, {'stages.0.2.conv1.conv.weight': torch.zeros(32, 64, 1, 1)})


def test_oct_config_with_a_missing_checkpoint():
    import os.path as osp
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(root, 'configs/det/retinanet_oct-resnet50_fpn_coco.py'))
    assert cfg.imagenet_checkpoint is None and cfg.model.backbone.init_cfg.checkpoint == 'timm://resnet50.tv_in1k'
    init_default_scope('mmdet')
    backbone_cfg = dict(cfg.model.backbone)
    backbone_cfg['init_cfg'] = dict(backbone_cfg['init_cfg'], checkpoint='work_dirs/oct-resnet50/epoch_100.pth')
    backbone = MODELS.build(backbone_cfg)
    with pytest.raises(FileNotFoundError, match=r"OctResNet: init_cfg checkpoint 'work_dirs/oct-resnet50/epoch_100"):
        backbone.init_weights()


def test_twin_of_another_width_or_depth(offline_timm_hub):
    with pytest.raises(ValueError, match=r"timm 'mobilenetv2_100'.*wrong shapes"):
        convert_timm('mobilenetv2_100', offline_timm_hub.state_dict('mobilenetv2_050.lamb_in1k'))
    with pytest.raises(ValueError, match=r"timm 'resnet50'.*missing \d+ keys.*conv3"):
        convert_timm('resnet50', offline_timm_hub.state_dict('resnet18.tv_in1k'))


TWIN_CONFIGS = ['det/ssdlite_dy-mobilenetv2_coco.py', 'det/retinanet_dy-resnet18_fpn_coco.py',
                'seg/deeplabv3_dy-mobilenetv2_ade20k.py', 'det/retinanet_oct-resnet50_fpn_coco.py',
                'det/ssdlite_oct-mobilenetv2_coco.py', 'seg/deeplabv3_oct-resnet50_ade20k.py']


@pytest.mark.parametrize('config', TWIN_CONFIGS)
def test_dy_and_oct_configs_start_from_their_twin(offline_timm_hub, config):
    import os.path as osp
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from lwmm.converters.pretrained import pretrained_cfg
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(root, 'configs', config))
    init_default_scope(cfg.default_scope)
    checkpoint = pretrained_cfg(cfg.model.backbone.init_cfg)['checkpoint']
    assert checkpoint.startswith('timm://')
    model = MODELS.build(cfg.model)
    model.init_weights()
    tag = checkpoint[len('timm://'):]
    vanilla = convert_timm(tag.split('.')[0], offline_timm_hub.state_dict(tag))
    vanilla = {k[len('backbone.'):]: v for k, v in vanilla.items() if k.startswith('backbone.')}
    if 'oct' in config:
        vanilla, _ = slice_vanilla(model.backbone, vanilla)
    state = model.backbone.state_dict()
    for key, value in vanilla.items():
        if state[key].dim() == value.dim() + 1:  # a dynamic conv: each of its K kernels is the static one
            assert all(torch.equal(kernel, value) for kernel in state[key]), key
        else:
            assert torch.equal(state[key], value), key
