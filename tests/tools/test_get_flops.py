"""tools/analysis/get_flops.py and lwmm.analysis.config_complexity on configs of the three tasks."""
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _config(path):
    return osp.join(ROOT, 'configs', path)


@pytest.fixture(scope='module')
def get_flops(load_tool):
    return load_tool('tools/analysis/get_flops.py')


@pytest.fixture(scope='module')
def ghostnet_run(get_flops):
    """The tool on GhostNet 0.5x at its default input, and what it printed."""
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = get_flops.main([_config('cls/ghostnet-0.5x_in1k.py')])
    return result, out.getvalue()


def _conv_linear_count(model, shape):
    """Parameters, and multiply-adds counted apart from the tool (which goes through count_complexity): one per
    weight use of each Conv2d and Linear, from forward hooks, which is all GhostNet's classifier has to count."""
    macs = []

    def hook(module, inputs, output):
        uses = output[0, 0].numel() if isinstance(module, torch.nn.Conv2d) else output[..., 0].numel()
        macs.append(module.weight.numel() * uses)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(shape), mode='tensor')
    for handle in handles:
        handle.remove()
    return sum(p.numel() for p in model.parameters()), sum(macs)


def test_classifier_matches_an_independent_count_and_paper(ghostnet_run):
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    result, _ = ghostnet_run
    assert result['input_shape'] == (1, 3, 224, 224)
    cfg = Config.fromfile(_config('cls/ghostnet-0.5x_in1k.py'))
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    assert (result['params'], result['macs']) == _conv_linear_count(model, (1, 3, 224, 224))
    # GhostNet paper (Han et al., CVPR 2020): 0.5x has 2.6M params and 42M MACs at 224
    assert abs(result['macs'] / 42e6 - 1) < 0.02
    assert abs(result['params'] / 2.6e6 - 1) < 0.02
    assert result['train_only_params'] == 0


def test_printed_report(ghostnet_run):
    result, printed = ghostnet_run
    assert '1x3x224x224' in printed
    assert f"({result['params']:,})" in printed and f"({result['macs']:,})" in printed
    assert 'classifier' in printed and 'left out' in printed


@pytest.mark.parametrize('config,shape', [
    ('cls/ghostnet-1.0x_in1k.py', (224, 224)),
    ('cls/mobilevit-xxs_in1k.py', (256, 256)),
    ('det/ssdlite_ghostnet_coco.py', (320, 320)),
    ('det/retinanet_ghostnet_fpn_coco.py', (800, 1333)),
    ('seg/deeplabv3_ghostnetv2_ade20k.py', (512, 512)),
])
def test_default_input_shape(config, shape):
    from mmengine.config import Config

    from lwmm.analysis import default_input_shape
    assert default_input_shape(Config.fromfile(_config(config))) == shape


def test_detector_small_shape(get_flops, capsys):
    result = get_flops.main([_config('det/ssdlite_ghostnet_coco.py'), '--shape', '96', '128'])
    assert result['input_shape'] == (1, 3, 96, 128)
    assert result['task'] == 'mmdet'
    backbone_macs = get_flops.main([_config('cls/ghostnet-1.0x_in1k.py'), '--shape', '96', '128'])['macs']
    assert result['macs'] > 0.5 * backbone_macs  # backbone plus SSD neck and head, no NMS
    assert '1x3x96x128' in capsys.readouterr().out


def test_segmentor_small_shape_by_module(get_flops, capsys):
    result = get_flops.main([_config('seg/deeplabv3_ghostnetv2_ade20k.py'), '--shape', '64', '--by-module',
                             '--depth', '1'])
    model = result['model']
    assert result['input_shape'] == (1, 3, 64, 64)
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
    # the auxiliary head does not run at test time: its params are reported apart
    aux = sum(p.numel() for p in model.auxiliary_head.parameters())
    assert aux > 0 and result['train_only_params'] == aux
    assert result['params'] + aux == sum(p.numel() for p in model.parameters())
    assert result['by_module']['auxiliary_head'][1] == 0
    assert result['by_module']['backbone'][1] + result['by_module']['decode_head'][1] == result['macs']
    printed = capsys.readouterr().out
    assert 'decode_head' in printed and 'decode_head.' not in printed  # depth 1


@pytest.mark.parametrize('argv', [['--shape', '1', '2', '3'], ['--shape', '0'], ['--depth', '-1']])
def test_invalid_arguments(get_flops, argv):
    with pytest.raises(SystemExit):
        get_flops.parse_args([_config('cls/ghostnet-0.5x_in1k.py')] + argv)


FASTER_RCNN_GHOSTNETV2 = """
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(_delete_=True, type='lwmm.GhostNetV2', out_indices=(1, 2, 3, 4)),
    neck=dict(in_channels=[24, 40, 112, 960]))
"""


def _hooked_conv_linear_macs(model, *args, **kwargs):
    """Multiply-adds of every Conv2d and Linear call in one eager forward, per top-level part, from hooks."""
    macs = {}

    def hook(module, inputs, output):
        uses = output[0, 0].numel() if isinstance(module, torch.nn.Conv2d) else output[..., 0].numel()
        part = names[module].split('.')[0]
        macs[part] = macs.get(part, 0) + module.weight.numel() * uses

    names = {m: name for name, m in model.named_modules()}
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model.eval()(*args, **kwargs)
    for handle in handles:
        handle.remove()
    return macs


def test_two_stage_detector_with_swapped_backbone(get_flops, tmp_path, capsys):
    """Issue 18 point 6: GhostNetV2 in mmdet's stock Faster R-CNN crashed in rpn_head.predict (no data samples
    in tensor mode); now the whole detector is counted, RPN proposals and RoI head included."""
    from lwmm.analysis.complexity import tensor_mode_kwargs
    config = tmp_path / 'faster_rcnn_ghostnetv2.py'
    config.write_text(FASTER_RCNN_GHOSTNETV2)
    result = get_flops.main([str(config), '--shape', '128', '--by-module', '--depth', '1'])
    assert result['untraced'] == [] and 'not traced' not in capsys.readouterr().out
    parts = {name: macs for name, (_, macs) in result['by_module'].items() if name and '.' not in name}
    assert set(parts) >= {'backbone', 'neck', 'rpn_head', 'roi_head'}
    assert all(parts[name] > 0 for name in ('backbone', 'neck', 'rpn_head', 'roi_head'))
    hooked = _hooked_conv_linear_macs(result['model'], torch.zeros(1, 3, 128, 128), mode='tensor',
                                      **tensor_mode_kwargs('mmdet', 128, 128))
    assert {name: parts.get(name, 0) for name in hooked} == hooked
    assert result['macs'] == sum(hooked.values())


class _Untraceable(torch.nn.Module):
    """A neck whose forward refuses to be traced, standing for any data-dependent Python a tracer cannot follow."""

    def forward(self, inputs):
        if torch.jit.is_tracing():
            raise RuntimeError('data-dependent control flow cannot be traced')
        return tuple(x.mean((2, 3)) for x in inputs)


def test_untraceable_part_gets_one_line_and_the_rest_is_counted(get_flops, monkeypatch, capsys):
    import lwmm.analysis.complexity as complexity
    build = complexity.build_model_from_config

    def with_untraceable_neck(cfg):
        model = build(cfg)
        model.neck = _Untraceable()
        return model

    monkeypatch.setattr(complexity, 'build_model_from_config', with_untraceable_neck)
    result = get_flops.main([_config('cls/ghostnet-0.5x_in1k.py')])
    lines = [line for line in capsys.readouterr().out.splitlines() if 'not traced' in line]
    assert len(lines) == 1 and 'neck (_Untraceable)' in lines[0]
    assert 'data-dependent control flow cannot be traced' in lines[0]
    assert result['untraced'] == [('neck', '_Untraceable', 'RuntimeError: data-dependent control flow cannot '
                                   'be traced')]
    hooked = _hooked_conv_linear_macs(result['model'], torch.zeros(1, 3, 224, 224), mode='tensor')
    assert set(hooked) == {'backbone', 'head'} and result['macs'] == sum(hooked.values())
    assert result['params'] == sum(p.numel() for p in result['model'].parameters())
