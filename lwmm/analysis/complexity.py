"""Parameter and multiply-add counts, counted as the mobile-network papers count them.

One multiply-add per weight use of every convolution and linear layer (fvcore's convention, through
mmengine.analysis), plus the matrix products of attention (``scaled_dot_product_attention``: QK^T and
AV) and of any ``matmul``/``bmm``/``einsum`` such as DynamicConv's kernel aggregation. Element-wise
operations (activations, BatchNorm, additions, gating multiplies, pooling, resizing) are left out, as
the papers leave them out.
"""
import functools
from collections import Counter
from numbers import Number
from typing import Any, Dict, List, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape

from lwmm.deploy.onnx import flatten_outputs
from .config_models import build_model_from_config, load_config


def _sdpa_flop(inputs: List[Any], outputs: List[Any]) -> Counter:
    """QK^T and AV of ``scaled_dot_product_attention``: 2 * B * heads * Lq * Lk * D multiply-adds."""
    q_shape, k_shape = get_shape(inputs[0]), get_shape(inputs[1])
    v_shape = get_shape(inputs[2])
    batch = 1
    for dim in q_shape[:-2]:
        batch *= dim
    lq, d = q_shape[-2], q_shape[-1]
    lk, dv = k_shape[-2], v_shape[-1]
    return Counter({'attention': batch * lq * lk * d + batch * lq * lk * dv})


#: fvcore counts these element-wise operations; the papers do not.
ELEMENTWISE_OPS = ('aten::batch_norm', 'aten::group_norm', 'aten::layer_norm', 'aten::instance_norm',
                   'aten::adaptive_avg_pool2d', 'aten::upsample_nearest2d', 'aten::upsample_bilinear2d',
                   'aten::linalg_vector_norm')

EXTRA_HANDLES = {
    'aten::scaled_dot_product_attention': _sdpa_flop,
    'aten::_scaled_dot_product_flash_attention_for_cpu': _sdpa_flop,
}


def count_complexity(model: nn.Module,
                     input_shape: Tuple[int, ...] = (1, 3, 224, 224),
                     inputs=None,
                     by_module: bool = False,
                     forward_kwargs: Dict[str, Any] = None) -> Dict[str, Any]:
    """Count parameters and multiply-adds of ``model`` for one input.

    Args:
        model: Any module; it is put in eval mode for the count.
        input_shape: Shape of the input tensor (batch included) when ``inputs`` is None.
        inputs: Explicit inputs (a tensor or a tuple) instead of ``input_shape``.
        by_module: Also return ``'by_module'``: multiply-adds per module name.
        forward_kwargs: Non-tensor keyword arguments bound to ``model.forward`` for the trace (a two-stage
            detector's data samples, which its RPN reads image sizes from).

    Returns:
        dict with ``params`` (int), ``macs`` (int), ``skipped`` (operator name -> count of calls left out)
        and, on request, ``by_module``.
    """
    was_training = model.training
    model.eval()
    if inputs is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else 'cpu'
        inputs = (torch.zeros(input_shape, device=device), )
    elif isinstance(inputs, torch.Tensor):
        inputs = (inputs, )
    if forward_kwargs:
        # the tracer passes tensors only; mmdet's own get_flops binds data samples the same way
        model.forward = functools.partial(model.forward, **forward_kwargs)
    try:
        result = _trace_count(model, inputs, by_module)
    finally:
        model.__dict__.pop('forward', None)
        model.train(was_training)
    return result


def _trace_count(model: nn.Module, inputs: tuple, by_module: bool) -> Dict[str, Any]:
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.set_op_handle(**EXTRA_HANDLES)
    # set_op_handle(op, None) in mmengine 0.10.7 marks the op ignored but keeps its built-in handle,
    # which still counts: drop the handle itself.
    for op in ELEMENTWISE_OPS:
        analyzer._op_handles.pop(op, None)
        analyzer._ignored_ops.add(op)
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings('none')
    with torch.no_grad():
        result = dict(
            params=sum(p.numel() for p in model.parameters()),
            macs=int(analyzer.total()),
            skipped=dict(analyzer.unsupported_ops()))
        if by_module:
            result['by_module'] = {name: int(v) for name, v in analyzer.by_module().items()}
    return result


def format_count(value: Number, unit: str = '') -> str:
    """1234567 -> '1.23M' (G, M, K), the papers' way of writing counts."""
    for suffix, scale in (('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(value) >= scale:
            return f'{value / scale:.2f}{suffix}{unit}'
    return f'{value}{unit}'


#: Modules that run only in training (auxiliary heads): their parameters are reported apart.
TRAIN_ONLY_MODULES = ('auxiliary_head', )


def _find_pipeline(dataset_cfg) -> list:
    """The pipeline of a dataset config, looking through wrappers (RepeatDataset, MultiScaleDataset...)."""
    while dataset_cfg is not None:
        if dataset_cfg.get('pipeline'):
            return list(dataset_cfg['pipeline'])
        dataset_cfg = dataset_cfg.get('dataset')
    return []


def _as_hw(size) -> Tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, Number) else (int(size[0]), int(size[1]))


def default_input_shape(cfg) -> Tuple[int, int]:
    """The (H, W) an evaluation image has when it reaches the model, read from the config.

    Classifiers: the test pipeline's crop (else its resize), else 256 for MobileViT and 224 otherwise.
    Detectors: the test pipeline's ``Resize`` scale, which mmdet writes (W, H) - (1333, 800) gives
    (800, 1333) as mmdet's get_flops does. Segmentors: the config's crop size, else 512x512.
    """
    scope = cfg.get('default_scope', 'mmpretrain')
    if scope == 'mmseg':
        size = cfg.get('crop_size') or cfg.model.get('data_preprocessor', {}).get('size')
        return _as_hw(size) if size else (512, 512)
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    pipeline = _find_pipeline(loader.get('dataset'))
    if scope == 'mmdet':
        for step in pipeline:
            if step.get('type', '').split('.')[-1] == 'Resize' and step.get('scale'):
                width, height = _as_hw(step['scale'])
                return height, width
        return 800, 1333
    for key, types in (('crop_size', ('CenterCrop', )), ('scale', ('RandomResizedCrop', 'Resize'))):
        for step in pipeline:
            if step.get('type', '').split('.')[-1] in types and step.get(key):
                size = _as_hw(step[key])
                return size if types[0] == 'CenterCrop' else size[::-1]
    backbone_type = str(cfg.model.get('backbone', {}).get('type', '')).lower()
    return (256, 256) if 'mobilevit' in backbone_type else (224, 224)


def tensor_mode_kwargs(task: str, height: int, width: int) -> Dict[str, Any]:
    """What ``model(inputs, **kwargs)`` needs besides the image in ``mode='tensor'``.

    mmdet's two-stage detectors run their RPN's proposal step in tensor mode, which reads each image's size
    from the data samples (None crashes in ``rpn_head.predict``); one sample per image, unscaled and unpadded.
    """
    if task != 'mmdet':
        return {}
    from mmdet.structures import DetDataSample
    size = (height, width)
    return dict(data_samples=[DetDataSample(metainfo=dict(
        img_shape=size, ori_shape=size, pad_shape=size, batch_input_shape=size, scale_factor=(1.0, 1.0)))])


class _Call(nn.Module):
    """One recorded call of a part, replayed for the tracer (its inputs are constants; the dummy is ignored)."""

    def __init__(self, part: nn.Module, args: tuple, kwargs: dict):
        super().__init__()
        self.part = part
        self.args, self.kwargs = args, kwargs

    def forward(self, dummy):
        tensors = flatten_outputs(self.part(*self.args, **self.kwargs), skip_others=True)
        return tuple(tensors) if tensors else dummy


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return f'{type(error).__name__}: {lines[-1].strip() if lines else ""}'


def _part_in_traceback(model: nn.Module, error: BaseException) -> str:
    """The direct child of ``model`` whose code raised ``error`` (parts are also entered through methods such
    as ``rpn_head.predict``, which forward hooks do not see), else '(forward)'."""
    children = {id(child): name for name, child in model.named_children()}
    part, frame = '(forward)', error.__traceback__
    while frame is not None:
        owner = frame.tb_frame.f_locals.get('self')
        part = children.get(id(owner), part)
        frame = frame.tb_next
    return part


def count_by_part(model: nn.Module, inputs: tuple, forward_kwargs: Dict[str, Any] = None,
                  by_module: bool = False) -> Dict[str, Any]:
    """Count each direct child of ``model`` on the inputs it got in one eager forward, for models whose
    whole trace fails; the parts that cannot be counted are listed with the reason.

    Returns:
        dict as :func:`count_complexity`, plus ``untraced``: [(part name, class name, reason)].
    """
    calls, running = {}, []
    handles = []
    for name, child in model.named_children():
        def record(module, args, kwargs, name=name):
            calls.setdefault(name, (args, kwargs))
            running.append(name)

        def done(module, args, output, name=name):
            running.remove(name)

        handles += [child.register_forward_pre_hook(record, with_kwargs=True), child.register_forward_hook(done)]
    was_training = model.training
    failed = {}
    try:
        with torch.no_grad():
            model.eval()(*inputs, **(forward_kwargs or {}))
    except Exception as error:  # noqa: BLE001  (the failing part is reported, the others still counted)
        failed[running[-1] if running else _part_in_traceback(model, error)] = _first_line(error)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    result = dict(params=sum(p.numel() for p in model.parameters()), macs=0, skipped=Counter(), untraced=[])
    if by_module:
        result['by_module'] = {'': 0}
    for name, child in model.named_children():
        if name in failed or name not in calls:
            if name in failed or (name not in TRAIN_ONLY_MODULES and any(True for _ in child.parameters())):
                reason = failed.get(name, 'not run: the forward stopped at an earlier part')
                result['untraced'].append((name, type(child).__name__, reason))
            continue
        try:
            part = count_complexity(_Call(child, *calls[name]), inputs=torch.zeros(1), by_module=by_module)
        except Exception as error:  # noqa: BLE001
            result['untraced'].append((name, type(child).__name__, _first_line(error)))
            continue
        result['macs'] += part['macs']
        result['skipped'].update(part['skipped'])
        if by_module:
            result['by_module'][''] += part['macs']
            result['by_module'].update({name + key[len('part'):]: macs
                                        for key, macs in part['by_module'].items() if key.startswith('part')})
    if '(forward)' in failed:
        result['untraced'].append(('(forward)', type(model).__name__, failed['(forward)']))
    result['skipped'] = dict(result['skipped'])
    return result


def config_complexity(config, shape=None, by_module: bool = False, model: nn.Module = None) -> Dict[str, Any]:
    """Params and multiply-adds of a config's model, traced as it runs at test time.

    The whole model runs in ``mode='tensor'`` on one (1, 3, H, W) tensor: a classifier's backbone, neck
    and head; a detector's backbone, neck and head outputs (no box decoding or NMS); a segmentor's
    backbone and decode head (no auxiliary head, no resizing of the logits to the image).

    Args:
        config: A config path, name under configs/ or ``mmengine.Config`` (lwmm.analysis.config_models).
        shape: (H, W), an int for a square, or None for :func:`default_input_shape`.
        by_module: Also return ``by_module``: {module name: (params, macs)}.
        model: An already built model of this config (skips building).

    Returns:
        dict with ``params`` (inference params), ``train_only_params`` (auxiliary heads), ``macs``,
        ``input_shape`` (1, 3, H, W), ``skipped`` (operator -> calls left out), ``task`` (the scope),
        ``model``, ``untraced`` ([(part, class, reason)] of parts left out of ``macs`` because they could
        not be traced: then each direct child is counted alone) and, on request, ``by_module``.
    """
    from mmengine.analysis import parameter_count
    cfg = load_config(config)
    if shape is None:
        shape = default_input_shape(cfg)
    height, width = _as_hw(shape)
    if model is None:
        model = build_model_from_config(cfg)
    task = cfg.get('default_scope', 'mmpretrain')
    inputs = (torch.zeros((1, 3, height, width), device=next(model.parameters()).device), )
    kwargs = tensor_mode_kwargs(task, height, width)
    try:
        result = count_complexity(model, inputs=inputs, by_module=by_module, forward_kwargs=kwargs)
        result['untraced'] = []
    except Exception:  # noqa: BLE001  (the whole trace failed: count part by part, name what fails)
        result = count_by_part(model, inputs, kwargs, by_module=by_module)
    train_only = sum(p.numel() for name in TRAIN_ONLY_MODULES if isinstance(getattr(model, name, None), nn.Module)
                     for p in getattr(model, name).parameters())
    result.update(
        params=result['params'] - train_only,
        train_only_params=train_only,
        input_shape=(1, 3, height, width),
        task=task,
        model=model)
    if by_module:
        params = parameter_count(model)
        result['by_module'] = {
            name: (params.get(name, 0), macs)
            for name, macs in result['by_module'].items()
        }
    return result
