"""ONNX export (lwmm.deploy.onnx): every backbone family exports, ONNX Runtime agrees with PyTorch
(max|diff| <= 1e-5 + 1e-4 * max|y|, checked inside export_onnx), the batch axis is dynamic where asked
(DynamicConv2d included), and failures say what went wrong."""
import copy

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch.nn as nn

import lwmm  # noqa: F401
from lwmm.deploy import OnnxExportError, export_onnx, randomize_norms, switch_to_deploy
from lwmm.deploy.onnx import (check_onnx, dynamic_conv_per_sample, flatten_outputs, per_sample_dynamic_convs,
                               size_for_adaptive_pools)
from lwmm.models.layers.dynamic_conv import DynamicConv2d
from lwmm.registry import MODELS


class Concat(nn.Module):
    """A backbone's stage outputs as one tuple (what ONNX exports as several outputs)."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        return tuple(self.backbone(x))


def run_ort(path, x):
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})


def assert_close(want: torch.Tensor, have: np.ndarray):
    assert tuple(want.shape) == have.shape
    bound = 1e-5 + 1e-4 * want.abs().max().item()
    assert np.abs(want.numpy() - have).max() <= bound


# GhostNet, MobileViT, Oct-MobileNetV2 and DY with a static batch are exported through the tool in
# tests/tools/test_export_onnx.py; here what the tool's demo configs do not reach: odd octave sizes and
# DynamicConv2d's batch-independent form (depthwise and dense kernels).
@pytest.mark.parametrize('cfg,size', [
    (dict(type='lwmm.OctResNet', depth=26, alpha=0.5, out_indices=(0, 3)), 50),  # odd: L->H crop
    (dict(type='lwmm.DYResNet', depth=10, out_indices=(1, 3)), 32),
])
def test_backbone_family_exports_with_dynamic_batch(tmp_path, spread_dynamic_kernels, cfg, size):
    torch.manual_seed(0)
    # K distinct kernels: as built they are copies, and the attention would not matter
    model = switch_to_deploy(Concat(randomize_norms(spread_dynamic_kernels(MODELS.build(cfg)))))
    path = export_onnx(model, torch.randn(2, 3, size, size), str(tmp_path / 'model.onnx'))
    # the graph exported at batch 2 runs at batch 1 and 3 (export_onnx checked 2 and 3)
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        expected = model(x)
    for want, have in zip(expected, run_ort(path, x)):
        assert_close(want, have)



DYNAMIC_CONVS = [
    (dict(in_channels=8, out_channels=16, kernel_size=1), 7),
    (dict(in_channels=8, out_channels=16, kernel_size=1, stride=2), 7),
    (dict(in_channels=8, out_channels=8, kernel_size=3, padding=1, groups=8), 9),
    (dict(in_channels=8, out_channels=8, kernel_size=5, stride=2, padding=2, groups=8), 9),
    (dict(in_channels=8, out_channels=12, kernel_size=3, padding=2, dilation=2, groups=4, bias=False), 10),
    (dict(in_channels=6, out_channels=10, kernel_size=(1, 3), padding=(0, 1), stride=(2, 1)), 8),
]


@pytest.mark.parametrize('kwargs,size', DYNAMIC_CONVS)
def test_per_sample_form_equals_the_grouped_conv(spread_dynamic_kernels, kwargs, size):
    torch.manual_seed(0)
    # K distinct kernels: as built they are copies, and the attention would not matter
    conv = spread_dynamic_kernels(DynamicConv2d(**kwargs, temperature=3.0).eval())
    x = torch.randn(3, kwargs['in_channels'], size, size)
    with torch.no_grad():
        expected = conv(x)
        got = dynamic_conv_per_sample(conv, x)
        with per_sample_dynamic_convs(conv) as switched:
            assert switched == 1
            assert torch.equal(conv(x), got)
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert 'forward' not in vars(conv)  # restored


@pytest.mark.parametrize('kwargs,size', DYNAMIC_CONVS)
def test_exported_dynamic_conv_runs_at_any_batch_as_the_forward(tmp_path, spread_dynamic_kernels, kwargs, size):
    """The one export form, in ONNX Runtime, against the layer's eager forward (1e-5): exported at batch 2,
    run at batch 1 and 5, each sample with its own attention."""
    torch.manual_seed(0)
    # K distinct kernels: as built they are copies, and the attention would not matter
    conv = spread_dynamic_kernels(DynamicConv2d(**kwargs, temperature=0.5).eval())
    path = export_onnx(conv, torch.randn(2, kwargs['in_channels'], size, size), str(tmp_path / 'conv.onnx'))
    for batch in (1, 5):
        x = torch.randn(batch, kwargs['in_channels'], size, size)
        with torch.no_grad():
            expected = conv(x)
        got = run_ort(path, x)[0]
        assert got.shape == tuple(expected.shape)
        assert np.abs(expected.numpy() - got).max() <= 1e-5 * max(1.0, expected.abs().max().item())
    with torch.no_grad():
        attention = conv.attention(x)
    assert (attention - attention[:1]).abs().max() > 1e-3  # the samples do get different kernels


def test_dynamic_inverted_residuals_export_with_dynamic_batch(tmp_path, spread_dynamic_kernels):
    """DY-MobileNet's blocks (dynamic 1x1, 3x3 and 5x5 depthwise, stride 2, static SE) in the per-sample
    form; the whole DY-MobileNetV2 is exported (static batch) by the tool test."""
    from mmcv.cnn import ConvModule
    from lwmm.models.layers.dynamic_conv import convert_to_dynamic
    from lwmm.models.layers.inverted_residual import InvertedResidual
    torch.manual_seed(0)
    blocks = nn.Sequential(
        ConvModule(3, 16, 3, stride=2, padding=1, norm_cfg=dict(type='BN')),
        InvertedResidual(16, 24, stride=2, expand_ratio=4),
        InvertedResidual(24, 24, stride=1, expand_ratio=3, kernel_size=5, se_channels=8))
    convert_to_dynamic(blocks, rule=dict(skip_first=1, exclude=[r'\.se\.']))
    assert len(blocks.dynamic_conv_names) == 6  # expand, depthwise, project of both blocks
    # K distinct kernels: as built they are copies, and the attention would not matter
    model = switch_to_deploy(randomize_norms(spread_dynamic_kernels(blocks)))
    path = export_onnx(model, torch.randn(2, 3, 33, 33), str(tmp_path / 'dy.onnx'))
    x = torch.randn(1, 3, 33, 33)
    with torch.no_grad():
        assert_close(model(x), run_ort(path, x)[0])


def test_unexportable_operator_names_op_and_module(tmp_path):
    class Cumulative(nn.Module):
        def forward(self, x):
            return torch.cummax(x, dim=1)[0]

    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Sequential(nn.ReLU(), Cumulative())).eval()
    with pytest.raises(OnnxExportError, match=r"aten::cummax.*1\.1"):
        export_onnx(model, torch.randn(1, 3, 8, 8), str(tmp_path / 'bad.onnx'))


def test_adaptive_pool_error_names_pool_and_the_smallest_size_that_exports(tmp_path, capfd):
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=4, padding=1), nn.AdaptiveAvgPool2d((3, 5))).eval()
    x = torch.randn(1, 3, 16, 16)
    size = size_for_adaptive_pools(model, x)
    assert size[0] % 4 == 0 and size[1] % 4 == 0 and size >= (16, 16)
    export_onnx(model, torch.randn(1, 3, *size), str(tmp_path / 'ok.onnx'))
    for smaller in ((size[0] - 4, size[1]), (size[0], size[1] - 4)):  # one stride less fails on that axis
        if min(smaller) >= 16:
            with pytest.raises(OnnxExportError, match='not factor|divide'):
                export_onnx(model, torch.randn(1, 3, *smaller), str(tmp_path / 'smaller.onnx'))
    capfd.readouterr()
    with pytest.raises(OnnxExportError) as error:
        export_onnx(model, x, str(tmp_path / 'bad.onnx'))
    message = str(error.value)
    assert 'adaptive_avg_pool2d in 1 pools 4x4 to 3x5' in message and f'--shape {size[0]} {size[1]}' in message
    assert 'graph(' not in capfd.readouterr().err and (tmp_path / 'bad.export-log.txt').is_file()


def test_mismatch_between_ort_and_pytorch_is_an_error(tmp_path):
    class Counter(nn.Module):  # a Python-side state the traced graph freezes at export
        calls = 0

        def forward(self, x):
            self.calls += 1
            return x * self.calls

    with pytest.raises(OnnxExportError, match="differs from PyTorch on output 'output0'"):
        export_onnx(Counter(), torch.ones(1, 3, 4, 4), str(tmp_path / 'counter.onnx'))


def test_check_onnx_reports_and_bad_arguments(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
    x = torch.randn(1, 3, 8, 8)
    path = export_onnx(copy.deepcopy(model), x, str(tmp_path / 'sub' / 'm.onnx'), check=False,
                       output_names=['features'])
    reports = check_onnx(path, model, [x, torch.randn(4, 3, 8, 8)])
    assert [r['batch'] for r in reports] == [1, 4] and all(r['ok'] for r in reports)
    assert reports[0]['name'] == 'features' and reports[0]['max_abs_diff'] <= reports[0]['tolerance']
    with pytest.raises(ValueError, match='output_names has 2 names'):
        export_onnx(model, x, str(tmp_path / 'n.onnx'), output_names=['a', 'b'])
    with pytest.raises(ValueError, match='output_names has 1 names but the model returns 2'):
        export_onnx(Concat(lambda t: (t, t + 1)), x, str(tmp_path / 'n.onnx'), output_names=['a'])
    with pytest.raises(ValueError, match='example_input'):
        export_onnx(model, x.numpy(), str(tmp_path / 'n.onnx'))


class _IndexRows(nn.Module):
    """An index output (like NMS's ``selected``) made of fixed rows, with one row changed in eager mode."""

    def __init__(self, rows: torch.Tensor, changed: int):
        super().__init__()
        self.register_buffer('rows', rows)
        self.changed = changed

    def forward(self, x):
        rows = self.rows + 0 * x.sum().long()  # the export sees the rows; the torch run may alter some
        if not torch.jit.is_tracing() and self.changed:
            rows = rows.clone()
            rows[:self.changed, 2] += 1000
        return rows


@pytest.mark.parametrize('changed, ok', [(0, True), (2, True), (3, False)])
def test_index_outputs_tolerate_a_few_differing_rows(tmp_path, changed, ok):
    rows = torch.stack([torch.zeros(20, dtype=torch.long), torch.arange(20) % 4, torch.arange(20)], 1)
    path = str(tmp_path / 'rows.onnx')
    torch.onnx.export(_IndexRows(rows, 0), (torch.zeros(1, 3, 4, 4), ), path, dynamo=False)
    report, = check_onnx(path, _IndexRows(rows, changed), [torch.zeros(1, 3, 4, 4)], index_tolerance=0.1)
    assert report['differing_rows'] == changed and report['tolerance'] == 2
    assert report['ok'] is ok


def test_flatten_outputs_orders_nested_tensors_and_refuses_other_leaves_unless_skipped():
    a, b, c = torch.zeros(1), torch.ones(2), torch.full((3, ), 2.)
    nested = (a, [None, dict(cls=b, meta='image.png')], ((c, ), ))
    assert [t.shape for t in flatten_outputs(nested, skip_others=True)] == [a.shape, b.shape, c.shape]
    with pytest.raises(OnnxExportError, match='returned NoneType'):
        flatten_outputs(nested)
