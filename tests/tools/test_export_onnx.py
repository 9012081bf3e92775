"""tools/deploy/export_onnx.py on the demo configs of every backbone family and task.

Each export loads a checkpoint whose BatchNorms were randomised (a fresh BN is nearly the identity and
would hide a wrong fold), lets the tool fold, export and check, and then compares the ONNX Runtime output
with the *unfused* model's: max|ort - torch| <= 1e-5 + 1e-4 * max|torch| on every output.
"""
import os.path as osp
import runpy
import sys

import numpy as np
import onnxruntime as ort
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'deploy', 'export_onnx.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/deploy/export_onnx.py')


def _config(name):
    return osp.join(ROOT, 'configs', 'demo', f'{name}.py')


@pytest.fixture(scope='module')
def checkpoints(tool, tmp_path_factory, spread_dynamic_kernels):
    """``get(config) -> (checkpoint path, unfused model)``: the config's model with randomised BN
    statistics (and distinct dynamic kernels), saved once per config and module."""
    from lwmm.deploy import randomize_norms
    folder = tmp_path_factory.mktemp('checkpoints')
    cache = {}

    def get(config):
        if config not in cache:
            _, model = tool.build_model(_config(config))
            torch.manual_seed(0)
            # K distinct kernels in the DY models: as built they are copies, and the attention would not matter
            spread_dynamic_kernels(model)
            randomize_norms(model)
            path = str(folder / f'{config}.pth')
            torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
            cache[config] = path, model
        return cache[config]

    return get


def export_and_compare(tool, checkpoints, tmp_path, config, shape, extra=()):
    ckpt, model = checkpoints(config)
    out = str(tmp_path / 'model.onnx')
    result = tool.main([_config(config), ckpt, '--out', out, '--shape', *map(str, shape), *extra])
    assert result['reports'] and all(r['ok'] for r in result['reports'])
    # what the graph computes is what the unfused model computes (the tool checked the fused one)
    from lwmm.deploy.onnx import flatten_outputs
    from lwmm.deploy.tasks import wrap_for_export
    with_nms = '--with-nms' in extra
    nms_args = dict(score_thr=0.0, iou_thr=None, max_per_class=None) if with_nms else {}
    reference = wrap_for_export(model, tuple(shape), with_nms, **nms_args).eval()
    batch = int(extra[extra.index('--batch') + 1]) if '--batch' in extra else 1
    x = torch.randn(batch, 3, *shape, generator=torch.Generator().manual_seed(0))  # the tool's example
    with torch.no_grad():
        expected = [t.numpy() for t in flatten_outputs(reference(x))]
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    got = session.run(None, {'input': x.numpy()})
    assert [o.name for o in session.get_outputs()] == result['outputs']
    for name, want, have in zip(result['outputs'], expected, got):
        if name == 'selected':
            continue  # indices: the tool compared them with the fused model's; rounding may flip ties
        assert want.shape == have.shape, name
        assert np.abs(want - have).max() <= 1e-5 + 1e-4 * np.abs(want).max(), name
    return result, session


@pytest.mark.parametrize('config,shape,extra', [
    ('ghostnet-1.0x_shapes', (64, 64), ()),
    ('mobilevit-xxs_shapes', (48, 48), ()),  # 48 px: the 3x3 stage takes the bilinear resize path
    ('oct-mobilenetv2_shapes', (40, 40), ()),  # 40 px: odd low-frequency maps (10 -> 5 -> 3)
    ('dy-mobilenetv2-1.0x_shapes', (32, 32), ('--static-batch', '--batch', '2')),
])
def test_classifier_per_family(tool, checkpoints, tmp_path, config, shape, extra):
    result, session = export_and_compare(tool, checkpoints, tmp_path, config, shape, extra)
    assert result['outputs'] == ['logits']
    dims = session.get_inputs()[0].shape
    if '--static-batch' in extra:
        assert dims[0] == 2 and {r['batch'] for r in result['reports']} == {2}
        import onnx
        groups = [a.i for node in onnx.load(result['out']).graph.node if node.op_type == 'Conv'
                  for a in node.attribute if a.name == 'group']
        assert max(groups) >= 2 * 96  # DynamicConv2d kept its batch-folded grouped conv (groups = N * C)
    else:  # dynamic batch: checked at the export batch (1) and another (2)
        assert isinstance(dims[0], str) and {r['batch'] for r in result['reports']} == {1, 2}
    assert session.get_outputs()[0].shape[1] == 4


@pytest.mark.parametrize('config,shape,levels', [
    ('ssdlite_ghostnetv2_shapes', (64, 64), 6),
    ('retinanet_ghostnet_fpn_shapes', (64, 64), 5),
])
def test_detector_raw_head_outputs(tool, checkpoints, tmp_path, config, shape, levels):
    result, _ = export_and_compare(tool, checkpoints, tmp_path, config, shape)
    assert result['outputs'] == ([f'cls_score_{i}' for i in range(levels)] +
                                 [f'bbox_pred_{i}' for i in range(levels)])


@pytest.mark.parametrize('config', [
    # SSD's softmax scores; slow only to keep the fast suite's budget (RetinaNet covers the NMS graph)
    pytest.param('ssdlite_ghostnetv2_shapes', marks=pytest.mark.slow),
    'retinanet_ghostnet_fpn_shapes'])
def test_detector_with_nms(tool, checkpoints, tmp_path, config):
    result, session = export_and_compare(tool, checkpoints, tmp_path, config, (64, 64),
                                         ('--with-nms', '--score-thr', '0.0'))
    assert result['outputs'] == ['boxes', 'scores', 'selected']
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    boxes, scores, selected = session.run(None, {'input': x.numpy()})
    assert boxes.shape[:2] == scores.shape[:2] and scores.shape[2] == 4
    assert boxes.min() >= 0 and boxes[..., 0::2].max() <= 64 and boxes[..., 1::2].max() <= 64
    assert selected.dtype == np.int64 and selected.shape[1] == 3 and len(selected) > 0  # threshold 0
    assert selected[:, 1].max() < 4 and selected[:, 2].max() < boxes.shape[1]


def test_segmentor(tool, checkpoints, tmp_path):
    result, _ = export_and_compare(tool, checkpoints, tmp_path, 'deeplabv3_mobilevit-xxs_shapes', (48, 32))
    assert result['outputs'] == ['seg_logits']
    assert {r['shape'] for r in result['reports']} == {(1, 5, 48, 32), (2, 5, 48, 32)}  # at the input size


def test_decode_matches_mmdet(tool):
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
    from lwmm.deploy.tasks import decode_deltas
    coder = DeltaXYWHBBoxCoder(target_means=[0.1, 0.0, 0.0, -0.1], target_stds=[0.1, 0.1, 0.2, 0.2])
    torch.manual_seed(0)
    corner = torch.rand(50, 2) * 60
    priors = torch.cat([corner, corner + torch.rand(50, 2) * 30 + 1], 1)
    deltas = torch.randn(50, 4) * 3  # large enough to hit both the size clamp and the border clip
    expected = coder.decode(priors, deltas, max_shape=(64, 80))
    assert torch.allclose(decode_deltas(coder, priors, deltas, (64, 80)), expected, atol=1e-4)


def test_no_check_and_no_fuse(tool, tmp_path):
    out = str(tmp_path / 'plain.onnx')
    result = tool.main([_config('ghostnet-1.0x_shapes'), '--out', out, '--shape', '32', '32', '--no-check',
                        '--no-fuse'])
    assert result['reports'] == [] and osp.isfile(out)


def test_errors(tool, tmp_path):
    out = str(tmp_path / 'x.onnx')
    config = _config('ghostnet-1.0x_shapes')
    with pytest.raises(FileNotFoundError, match='config'):
        tool.main([str(tmp_path / 'missing.py'), '--out', out])
    with pytest.raises(FileNotFoundError, match='checkpoint'):
        tool.main([config, str(tmp_path / 'missing.pth'), '--out', out])
    corrupt = tmp_path / 'corrupt.pth'
    corrupt.write_bytes(b'not a checkpoint' * 10)
    with pytest.raises(ValueError, match='could not be loaded'):
        tool.main([config, str(corrupt), '--out', out])
    with pytest.raises(ValueError, match='with_nms applies to detectors only'):
        tool.main([config, '--out', out, '--with-nms'])
    with pytest.raises(ValueError, match='only with --with-nms'):
        tool.main([config, '--out', out, '--score-thr', '0.1'])
    bare = tmp_path / 'bare_backbone.py'
    bare.write_text("default_scope = 'mmpretrain'\nmodel = dict(type='lwmm.GhostNet', widen_factor=0.5)\n")
    with pytest.raises(ValueError, match='model type GhostNet is not supported'):
        tool.main([str(bare), '--out', out])


PSPNET_MOBILEVIT = """
_base_ = 'mmseg::pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py'
model = dict(
    pretrained=None,
    backbone=dict(_delete_=True, type='lwmm.MobileViT', arch='xx_small', out_indices=(1, 2, 3, 4)),
    decode_head=dict(in_channels=320, channels=64),
    auxiliary_head=dict(in_channels=64, channels=32))
"""


def test_adaptive_pool_failure_is_one_paragraph_with_a_size_that_works(tool, tmp_path, capfd):
    """Issue 18 point 7: mmseg's stock PSPNet with MobileViT at 128 px (4x4 features, pools of 1, 2, 3, 6)
    dumped the TorchScript graph; now one paragraph names the pools and a size, and that size exports."""
    import re

    from lwmm.deploy import OnnxExportError
    config = tmp_path / 'pspnet_mobilevit.py'
    config.write_text(PSPNET_MOBILEVIT)
    out = tmp_path / 'psp.onnx'
    capfd.readouterr()
    with pytest.raises(OnnxExportError) as error:
        tool.main([str(config), '--out', str(out), '--shape', '128', '128', '--no-fuse'])
    message = str(error.value)
    assert '\n' not in message and 'graph(' not in message
    assert 'decode_head.psp_modules.3.0 pools 4x4 to 6x6' in message
    assert 'decode_head.psp_modules.2.0 pools 4x4 to 3x3' in message and 'psp_modules.1.0' not in message
    printed = capfd.readouterr()
    assert 'graph(' not in printed.out + printed.err and len((printed.out + printed.err).splitlines()) < 20
    log = re.search(r'graph dump is in (\S+)\.\)', message).group(1)
    assert osp.isfile(log) and 'Torch IR graph at exception' in open(log).read()
    height, width = map(int, re.search(r'--shape (\d+) (\d+)', message).groups())
    assert (height, width) == (192, 192)  # the pools' inputs (6x6 at stride 32) divide by 1, 2, 3 and 6
    result = tool.main([str(config), '--out', str(out), '--shape', str(height), str(width), '--no-fuse'])
    assert osp.isfile(out) and all(r['ok'] for r in result['reports'])


def test_command_line_error_exit(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', [TOOL, _config('ghostnet-1.0x_shapes'), str(tmp_path / 'no.pth'),
                                      '--out', str(tmp_path / 'x.onnx')])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(TOOL, run_name='__main__')
    assert exit_info.value.code == 1
    assert 'error: checkpoint' in capsys.readouterr().err


def test_deploy_errors_table(load_tool, tmp_path):
    """tools/deploy/deploy_errors.py (the table of docs/deploy.md) on one small backbone."""
    module = load_tool('tools/deploy/deploy_errors.py')
    out = tmp_path / 'table.md'
    rows = module.main(['--size', '64', '--only', 'MobileViT-XXS', '--out', str(out)])
    assert len(rows) == 1 and rows[0]['left'] == 0
    assert rows[0]['fused_rel'] <= 1e-5 and rows[0]['onnx_rel'] <= 1e-4
    assert '| MobileViT-XXS |' in out.read_text()
    with pytest.raises(ValueError, match='unknown'):
        module.main(['--only', 'ResNet-9000'])
