"""Local files in the published formats, recognised by an lwmm backbone's Pretrained init_cfg without flags.

Each format's keys are built from a layout read in the authors' code (not installable here):
- timm: the state dict of timm's own (randomly initialised) model, as .pth and .safetensors;
- Huawei's GhostNet / GhostNetV2 release: timm's names are the official module names (timm ported them),
  so the release is timm's state dict as the official train scripts save it: under ``state_dict``, with
  DataParallel's ``module.`` prefix and thop's ``total_ops`` / ``total_params`` counters per module;
- ml-cvnets MobileViT: timm's keys renamed by ``_timm_to_cvnets`` below, the inverse of the map read in
  cvnets/models/classification/mobilevit.py and cvnets/modules/{mobilevit_block,transformer,
  mobilenetv2}.py (ConvLayer2d = ``block.conv`` / ``block.norm``);
- lwmm: the classifier checkpoint tools/model_converters/timm2lwmm.py writes.
Every route must give the backbone the tensors the timm:// route gives.
"""
import re

import pytest
import torch
from mmengine.registry import MODELS

import lwmm  # noqa: F401
from lwmm.converters import convert_timm


def _timm_to_cvnets(state_dict):
    """timm ``mobilevit_*`` keys -> ml-cvnets keys (documented above)."""
    transformers = {}
    for key in state_dict:
        match = re.match(r'^stages\.(\d+)\.(\d+)\.transformer\.(\d+)\.', key)
        if match:
            block = (match.group(1), match.group(2))
            transformers[block] = max(transformers.get(block, 0), int(match.group(3)) + 1)
    rules = [
        (r'^stem\.conv\.', 'conv_1.block.conv.'), (r'^stem\.bn\.', 'conv_1.block.norm.'),
        (r'^final_conv\.conv\.', 'conv_1x1_exp.block.conv.'), (r'^final_conv\.bn\.', 'conv_1x1_exp.block.norm.'),
        (r'^head\.fc\.', 'classifier.fc.'),
    ]
    block_rules = [
        (r'^conv1_1x1\.conv\.', 'block.exp_1x1.block.conv.'), (r'^conv1_1x1\.bn\.', 'block.exp_1x1.block.norm.'),
        (r'^conv2_kxk\.conv\.', 'block.conv_3x3.block.conv.'), (r'^conv2_kxk\.bn\.', 'block.conv_3x3.block.norm.'),
        (r'^conv3_1x1\.conv\.', 'block.red_1x1.block.conv.'), (r'^conv3_1x1\.bn\.', 'block.red_1x1.block.norm.'),
        (r'^conv_kxk\.conv\.', 'local_rep.conv_3x3.block.conv.'),
        (r'^conv_kxk\.bn\.', 'local_rep.conv_3x3.block.norm.'),
        (r'^conv_1x1\.', 'local_rep.conv_1x1.block.conv.'),
        (r'^transformer\.(\d+)\.norm1\.', r'global_rep.\1.pre_norm_mha.0.'),
        (r'^transformer\.(\d+)\.attn\.qkv\.', r'global_rep.\1.pre_norm_mha.1.qkv_proj.'),
        (r'^transformer\.(\d+)\.attn\.proj\.', r'global_rep.\1.pre_norm_mha.1.out_proj.'),
        (r'^transformer\.(\d+)\.norm2\.', r'global_rep.\1.pre_norm_ffn.0.'),
        (r'^transformer\.(\d+)\.mlp\.fc1\.', r'global_rep.\1.pre_norm_ffn.1.'),
        (r'^transformer\.(\d+)\.mlp\.fc2\.', r'global_rep.\1.pre_norm_ffn.4.'),
        (r'^conv_proj\.conv\.', 'conv_proj.block.conv.'), (r'^conv_proj\.bn\.', 'conv_proj.block.norm.'),
        (r'^conv_fusion\.conv\.', 'fusion.block.conv.'), (r'^conv_fusion\.bn\.', 'fusion.block.norm.'),
    ]
    out = {}
    for key, value in state_dict.items():
        match = re.match(r'^stages\.(\d+)\.(\d+)\.(.+)$', key)
        if match:
            stage, block, rest = match.groups()
            if rest.startswith('norm.'):
                rest = f'global_rep.{transformers[(stage, block)]}.' + rest[len('norm.'):]
            else:
                rest = next(re.sub(p, r, rest) for p, r in block_rules if re.match(p, rest))
            out[f'layer_{int(stage) + 1}.{block}.{rest}'] = value
        else:
            out[next(re.sub(p, r, key) for p, r in rules if re.match(p, key))] = value
    return out


def _huawei_release(state_dict):
    """timm GhostNet weights as Huawei's train scripts save them."""
    out = {f'module.{k}': v for k, v in state_dict.items()}
    modules = {k.rsplit('.', 1)[0] for k in state_dict}
    for module in sorted(modules):
        out[f'module.{module}.total_ops'] = torch.zeros(1, dtype=torch.float64)
        out[f'module.{module}.total_params'] = torch.zeros(1, dtype=torch.float64)
    return dict(epoch=450, arch='ghostnetv2', state_dict=out)


def _backbone(cfg: dict, checkpoint: str, prefix='backbone.'):
    init_cfg = dict(type='Pretrained', checkpoint=checkpoint)
    if prefix is not None:
        init_cfg['prefix'] = prefix
    backbone = MODELS.build(dict(cfg, init_cfg=init_cfg))
    backbone.init_weights()
    return backbone


def _assert_equal_to(backbone, converted):
    state = backbone.state_dict()
    for key, value in state.items():
        assert torch.equal(value, converted[f'backbone.{key}']), key


@pytest.fixture(scope='module')
def ghostnetv2(offline_timm_hub):
    state = offline_timm_hub.state_dict('ghostnetv2_100.in1k')
    return state, convert_timm('ghostnetv2_100', state)


@pytest.fixture(scope='module')
def mobilevit(offline_timm_hub):
    state = offline_timm_hub.state_dict('mobilevit_xxs.cvnets_in1k')
    return state, convert_timm('mobilevit_xxs', state)


def test_timm_route_is_the_reference(offline_timm_hub, ghostnetv2):
    backbone = _backbone(dict(type='lwmm.GhostNetV2', widen_factor=1.0), 'timm://ghostnetv2_100.in1k')
    _assert_equal_to(backbone, ghostnetv2[1])


@pytest.mark.parametrize('suffix', ['.pth', '.safetensors'])
def test_timm_state_dict_file(tmp_path, ghostnetv2, suffix):
    path = str(tmp_path / f'ghostnetv2_100{suffix}')
    if suffix == '.pth':
        torch.save(ghostnetv2[0], path)
    else:
        from safetensors.torch import save_file
        save_file(dict(ghostnetv2[0]), path)
    for prefix in ('backbone.', None):  # a foreign file has no prefix: both spellings work
        _assert_equal_to(_backbone(dict(type='lwmm.GhostNetV2'), path, prefix), ghostnetv2[1])


def test_huawei_release(tmp_path, ghostnetv2):
    path = str(tmp_path / 'ck_ghostnetv2_10.pth.tar')
    torch.save(_huawei_release(ghostnetv2[0]), path)
    _assert_equal_to(_backbone(dict(type='lwmm.GhostNetV2'), path), ghostnetv2[1])


def test_cvnets_mobilevit(tmp_path, mobilevit):
    cvnets = _timm_to_cvnets(mobilevit[0])
    # names the cvnets code gives (read there, not produced by lwmm's map)
    for key in ('conv_1.block.conv.weight', 'layer_1.0.block.exp_1x1.block.norm.running_var',
                'layer_3.1.local_rep.conv_1x1.block.conv.weight',
                'layer_3.1.global_rep.0.pre_norm_mha.1.qkv_proj.weight',
                'layer_3.1.global_rep.2.weight', 'layer_5.1.fusion.block.conv.weight',
                'conv_1x1_exp.block.norm.weight', 'classifier.fc.bias'):
        assert key in cvnets, key
    path = str(tmp_path / 'mobilevit_xxs.pt')
    torch.save(cvnets, path)
    _assert_equal_to(_backbone(dict(type='lwmm.MobileViT', arch='xx_small'), path), mobilevit[1])


def test_lwmm_checkpoint(tmp_path, ghostnetv2):
    import importlib.util
    import os.path as osp
    tool = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools', 'model_converters',
                    'timm2lwmm.py')
    spec = importlib.util.spec_from_file_location('timm2lwmm', tool)
    timm2lwmm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(timm2lwmm)
    src, dst = str(tmp_path / 'timm.pth'), str(tmp_path / 'lwmm.pth')
    torch.save(ghostnetv2[0], src)
    timm2lwmm.main(['--model', 'ghostnetv2_100', src, dst])
    _assert_equal_to(_backbone(dict(type='lwmm.GhostNetV2'), dst), ghostnetv2[1])


def test_file_of_another_model(tmp_path, mobilevit):
    path = str(tmp_path / 'mobilevit.pth')
    torch.save(mobilevit[0], path)
    with pytest.raises(ValueError, match=r"GhostNetV2: init_cfg checkpoint .*mobilevit\.pth.* has no weights for "
                                         r"this backbone.*ghostnetv2_100.*timm://"):
        _backbone(dict(type='lwmm.GhostNetV2'), path)


def test_missing_file():
    with pytest.raises(FileNotFoundError,
                       match=r"GhostNet: init_cfg checkpoint 'missing/ghostnet\.pth' does not exist"):
        _backbone(dict(type='lwmm.GhostNet'), 'missing/ghostnet.pth')
