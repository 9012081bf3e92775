"""ONNX export with an ONNX Runtime check against PyTorch.

torch 2.14's default exporter (``dynamo=True``) needs the ``onnxscript`` package, which the pinned
environment does not have; the TorchScript exporter (``dynamo=False``) exports every lwmm model, so it
is used here. Spatial sizes are fixed at the example input's; the batch axis is dynamic on request.

``DynamicConv2d`` convolves each sample with its own kernel by folding the batch into the groups of
one grouped convolution; ONNX's ``Conv`` takes ``group`` as a fixed attribute, so that graph only
accepts the batch size it was exported with (with a dynamic batch axis the exporter refuses it: "kernel of
unknown shape"). With ``dynamic_batch=True`` the export therefore swaps in
:func:`dynamic_conv_per_sample`, the layer's attention and aggregation followed by the convolution written
as shifted slices and a batched matrix product (no batch-dependent attribute), of the same multiply-adds:
the one export form (docs/dynamic_conv.md, "ONNX export").
"""
import contextlib
import os
import os.path as osp
import re
import sys
import types
import warnings
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from lwmm.models.layers.dynamic_conv import DynamicConv2d


class OnnxExportError(RuntimeError):
    """The model could not be exported, or ONNX Runtime's outputs differ from PyTorch's."""


# -- DynamicConv2d without the batch in the groups ----------------------------------------------------
def dynamic_conv_per_sample(conv: DynamicConv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)`` with the per-sample kernels applied by strided slices and a batched matmul, not a grouped conv.

    The attention and the kernel aggregation are the layer's own (``conv.attention``, ``conv.aggregate``);
    only the last step of its forward differs. The kxk input taps are strided slices of the padded input,
    stacked to ``(B, C_in, k*k, L)`` and grouped to ``(B, g, C_in/g * k*k, L)``; the aggregated kernels,
    viewed as ``(B, g, C_out/g, C_in/g * k*k)``, multiply them. Only static sizes (spatial, channels,
    groups) become graph constants, so the batch can vary. Same multiply-adds as the grouped conv; equal
    to the forward up to float rounding (tests/deploy/test_onnx.py).
    """
    batch, channels, height, width = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = conv.kernel_size, conv.stride, conv.padding, conv.dilation
    groups = conv.groups
    out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    weight, bias = conv.aggregate(conv.attention(x))
    weight = weight.reshape(-1, groups, conv.out_channels // groups, channels // groups * kh * kw)
    if ph or pw:
        x = F.pad(x, (pw, pw, ph, ph))
    taps = [
        x[:, :, i * dh:i * dh + sh * (out_h - 1) + 1:sh, j * dw:j * dw + sw * (out_w - 1) + 1:sw]
        for i in range(kh) for j in range(kw)
    ]
    columns = taps[0].unsqueeze(2) if len(taps) == 1 else torch.stack(taps, dim=2)
    columns = columns.reshape(-1, groups, channels // groups * kh * kw, out_h * out_w)
    out = torch.matmul(weight, columns).reshape(-1, conv.out_channels, out_h, out_w)
    if bias is not None:
        out = out + bias.reshape(-1, conv.out_channels, 1, 1)
    return out


@contextlib.contextmanager
def per_sample_dynamic_convs(model: nn.Module) -> Iterator[int]:
    """Within the block, every ``DynamicConv2d`` of ``model`` runs :func:`dynamic_conv_per_sample`.

    Yields the number of layers switched; their own ``forward`` is restored on exit.
    """
    convs = [m for m in model.modules() if isinstance(m, DynamicConv2d)]
    for conv in convs:
        conv.forward = types.MethodType(dynamic_conv_per_sample, conv)
    try:
        yield len(convs)
    finally:
        for conv in convs:
            del conv.forward


# -- export ----------------------------------------------------------------------------------------------
def flatten_outputs(outputs, skip_others: bool = False) -> List[torch.Tensor]:
    """Tensors of a (nested) tuple/list/dict output in the order the ONNX exporter lists them.

    Any other leaf (None, a data sample) is an error, which export needs, unless ``skip_others``: then it is
    passed over, for counting or comparing the tensors a model returns.
    """
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        return [t for item in outputs for t in flatten_outputs(item, skip_others)]
    if skip_others:
        return []
    raise OnnxExportError(f'export_onnx: the model returned {type(outputs).__name__}; only tensors and '
                          f'(nested) tuples, lists or dicts of tensors can be exported.')


def _locate_op(model: nn.Module, example_input: torch.Tensor, op: str) -> List[str]:
    """Module paths whose forward calls ``op`` (an ``aten::`` name), from a TorchScript trace."""
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            graph = torch.jit.trace(model, example_input, check_trace=False, strict=False).inlined_graph
    except Exception:  # noqa: BLE001  (locating is best effort: the export error is reported anyway)
        return []
    places = []
    for node in graph.nodes():
        if node.kind() == op:
            scope = node.scopeName().split('/')[-1].replace('__module.', '') or '<top level>'
            if scope not in places:
                places.append(scope)
    return places


# -- adaptive pooling: ONNX exports it only where the output size divides the input size ----------------
class _AdaptivePoolCalls(torch.overrides.TorchFunctionMode):
    """Records each adaptive pooling call: the module it ran in, its input and output spatial sizes."""

    POOLS = (F.adaptive_avg_pool2d, F.adaptive_max_pool2d)

    def __init__(self, module_stack: List[str]):
        super().__init__()
        self.module_stack, self.calls = module_stack, []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.POOLS:
            size = tuple(args[0].shape[-2:])
            out = args[1] if len(args) > 1 else kwargs.get('output_size')
            out = (out, out) if out is None or isinstance(out, int) else tuple(out)
            out = tuple(s if o is None else int(o) for s, o in zip(size, out))
            self.calls.append(dict(op=func.__name__, module=self.module_stack[-1] if self.module_stack else
                                   '<top level>', input=size, output=out))
        return func(*args, **kwargs)


def adaptive_pool_calls(model: nn.Module, example_input: torch.Tensor) -> List[dict]:
    """Every adaptive pooling of ``model(example_input)``: ``dict(op, module, input=(h, w), output=(h, w))``.

    Calls made before a failure of the forward are kept (the rest of the model may not suit that size).
    """
    stack, handles = [], []

    def leave(module, args, output):
        stack.pop()  # a forward hook that returns a value replaces the output

    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(lambda m, a, name=name: stack.append(name or '<top level>')))
        handles.append(module.register_forward_hook(leave))
    recorder = _AdaptivePoolCalls(stack)
    try:
        with torch.no_grad(), recorder:
            model(example_input)
    except Exception:  # noqa: BLE001  (the sizes seen so far are what is asked for)
        pass
    finally:
        for handle in handles:
            handle.remove()
    return recorder.calls


def _indivisible(calls: List[dict], axis: int) -> List[dict]:
    return [c for c in calls if c['input'][axis] % c['output'][axis]]


def size_for_adaptive_pools(model: nn.Module, example_input: torch.Tensor, max_steps: int = 32):
    """The smallest (H, W) >= the example's, each a multiple of the network's stride at its adaptive pools,
    at which every adaptive pool's input size divides by its output size; None if none within ``max_steps``
    strides. The stride is the largest input/pool-input ratio (32 for a PSP head on an output-stride-32
    backbone)."""
    calls = adaptive_pool_calls(model, example_input)
    height, width = example_input.shape[-2:]
    stride = [max([round(size / c['input'][axis]) for c in calls if c['input'][axis]] + [1])
              for axis, size in enumerate((height, width))]
    found = [None if _indivisible(calls, axis) else size for axis, size in enumerate((height, width))]
    first = [-(-size // step) for size, step in zip((height, width), stride)]
    for step in range(max_steps):
        if None not in found:
            break
        trial = [found[axis] or (first[axis] + step) * stride[axis] for axis in range(2)]
        x = example_input.new_zeros((1, example_input.shape[1], *trial))
        trial_calls = adaptive_pool_calls(model, x)
        for axis in range(2):
            if found[axis] is None and trial_calls and not _indivisible(trial_calls, axis):
                found[axis] = trial[axis]
    return None if None in found else tuple(found)


def _adaptive_pool_error(model, example_input, log_note: str) -> Optional[OnnxExportError]:
    calls = adaptive_pool_calls(model, example_input)
    bad = [c for c in calls if c['input'][0] % c['output'][0] or c['input'][1] % c['output'][1]]
    if not bad:
        return None
    height, width = example_input.shape[-2:]
    pools = '; '.join(f'{c["op"]} in {c["module"]} pools {c["input"][0]}x{c["input"][1]} to '
                      f'{c["output"][0]}x{c["output"][1]}' for c in bad)
    size = size_for_adaptive_pools(model, example_input)
    fix = (f'Input {size[0]}x{size[1]} exports (the smallest size from {height}x{width} up, in steps of the '
           f'network\'s stride there, at which every adaptive pool\'s input divides by its output size): '
           f'pass --shape {size[0]} {size[1]}.' if size else
           'No input size up to 32 strides larger fits every adaptive pool; change the pool sizes.')
    return OnnxExportError(
        f'export_onnx: ONNX cannot export {type(model).__name__} at {height}x{width}: the exporter writes an '
        f'adaptive pool as a fixed-kernel pool, so its output size must divide its input size, and here '
        f'{pools}. {fix}{log_note}')


def _export_error(model, example_input, error: Exception, log_note: str = '') -> OnnxExportError:
    message = str(error)
    if 'adaptive' in message and 'not factor of input size' in message:
        pool_error = _adaptive_pool_error(model, example_input, log_note)
        if pool_error is not None:
            return pool_error
    ops = re.findall(r"(aten::\w+|prim::\w+|onnx::\w+)", message)
    where = ''
    if ops:
        places = _locate_op(model, example_input, ops[0])
        if places:
            where = f' The operator {ops[0]} is called in: {", ".join(places[:5])}.'
    first_line = message.strip().splitlines()[0] if message.strip() else type(error).__name__
    first_line = first_line.split(' Please feel free')[0].split('  [Caused by')[0]
    return OnnxExportError(f'export_onnx: ONNX export of {type(model).__name__} failed: {first_line}{where} '
                           f'Replace that operation with exportable ones (or register a symbolic for it).'
                           f'{log_note}')


@contextlib.contextmanager
def _exporter_output_to(path: str) -> Iterator[None]:
    """The TorchScript exporter prints its whole graph on a failure (torch enables its ONNX log whatever the
    verbose flag): its stdout and stderr go to ``path`` instead, at the file-descriptor level where it writes."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(path, 'w') as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)


def export_onnx(model: nn.Module,
                example_input: torch.Tensor,
                path: str,
                *,
                input_names: Sequence[str] = ('input', ),
                output_names: Optional[Sequence[str]] = None,
                dynamic_batch: bool = True,
                opset: int = 17,
                check: bool = True,
                rtol: float = 1e-4,
                atol: float = 1e-5,
                dynamic_axes: Optional[Dict[str, Dict[int, str]]] = None) -> str:
    """Export ``model(example_input)`` to ONNX at ``path``; with ``check``, compare ONNX Runtime to PyTorch.

    Args:
        model: Any module whose forward takes one tensor and returns tensors (nested tuples allowed).
            It is exported in its current mode; call ``switch_to_deploy`` (or ``eval``) first.
        example_input: ``(N, C, H, W)``; H and W are fixed in the graph.
        path: Output file (folders are created).
        input_names, output_names: Graph names; outputs default to ``output0, output1, ...``.
        dynamic_batch: Make axis 0 of the input and of every output dynamic. ``DynamicConv2d`` layers are
            then exported in their batch-independent form (see the module docstring); with False they keep
            the batch-folded grouped conv and the graph only runs at ``example_input``'s batch size.
        opset: ONNX opset of the TorchScript exporter.
        check: Run the file with ONNX Runtime (:func:`check_onnx`) and raise :class:`OnnxExportError`
            where an output differs by more than ``atol + rtol * max|PyTorch output|``. With
            ``dynamic_batch`` a second batch of another size is checked too.
        dynamic_axes: Replaces the dynamic axes computed from ``dynamic_batch`` (ONNX exporter format),
            for outputs whose first axis is not the batch.

    Returns:
        ``path``.

    Raises:
        OnnxExportError: an operator cannot be exported (its name and the modules calling it are in the
            message), or ONNX Runtime disagrees with PyTorch.
    """
    if not isinstance(example_input, torch.Tensor) or example_input.dim() < 1:
        raise ValueError(f'export_onnx: example_input must be a tensor with a batch axis, got '
                         f'{type(example_input).__name__}.')
    if output_names is None:
        with torch.no_grad():
            num_outputs = len(flatten_outputs(model(example_input)))
        output_names = [f'output{i}' for i in range(num_outputs)]
    output_names = list(output_names)
    if dynamic_axes is None and dynamic_batch:
        dynamic_axes = {name: {0: 'batch'} for name in list(input_names) + output_names}
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    context = per_sample_dynamic_convs(model) if dynamic_batch else contextlib.nullcontext()
    log_path = osp.splitext(path)[0] + '.export-log.txt'
    try:
        with context, torch.no_grad(), warnings.catch_warnings(), _exporter_output_to(log_path):
            warnings.simplefilter('ignore')  # the TorchScript exporter's deprecation and tracer warnings
            torch.onnx.export(
                model, (example_input, ), path, dynamo=False, opset_version=opset,
                input_names=list(input_names), output_names=output_names, dynamic_axes=dynamic_axes,
                do_constant_folding=True)
    except OnnxExportError:
        os.remove(log_path)
        raise
    except Exception as error:  # noqa: BLE001  (any exporter failure becomes one clear error)
        if 'number of output names' in str(error):
            raise ValueError(f'export_onnx: output_names has {len(output_names)} names, more than the '
                             f'model returns ({error}).') from error
        log_note = (f' (The exporter\'s TorchScript graph dump is in {log_path}.)'
                    if osp.getsize(log_path) else '')
        if not log_note:
            os.remove(log_path)
        raise _export_error(model, example_input, error, log_note) from error
    os.remove(log_path)
    import onnx
    num_outputs = len(onnx.load(path, load_external_data=False).graph.output)
    if num_outputs != len(output_names):
        raise ValueError(f'export_onnx: output_names has {len(output_names)} names but the model returns '
                         f'{num_outputs} tensors.')
    if check:
        inputs = [example_input]
        if dynamic_batch:
            inputs.append(other_batch(example_input))
        for report in check_onnx(path, model, inputs, rtol=rtol, atol=atol):
            if not report['ok']:
                raise OnnxExportError(
                    f'export_onnx: ONNX Runtime differs from PyTorch on output {report["name"]!r} at batch '
                    f'{report["batch"]}: max |diff| {report["max_abs_diff"]:.3g} > {report["tolerance"]:.3g} '
                    f'(atol {atol} + rtol {rtol} * max|y| {report["max_abs"]:.3g}). File: {path}')
    return path


def other_batch(example_input: torch.Tensor) -> torch.Tensor:
    """A batch of another size (N + 1) from the example: the example and its first sample mirrored."""
    return torch.cat([example_input, example_input[:1].flip(-1)], dim=0)


def check_onnx(path: str,
               model: nn.Module,
               inputs: Sequence[torch.Tensor],
               rtol: float = 1e-4,
               atol: float = 1e-5,
               index_tolerance: float = 0.1) -> List[dict]:
    """Run ``path`` with ONNX Runtime on each input and compare each output with ``model``'s.

    Tolerance per output: ``max|ort - torch| <= atol + rtol * max|torch|`` (relative to the output's
    magnitude, since element-wise relative error is meaningless near zero). Integer outputs (index
    rows such as NMS selections) must hold as many rows, all but at most ``index_tolerance`` of them the
    same (near-tied scores break differently; for these outputs the report's ``max_abs_diff`` is the
    number of differing rows, ``max_abs`` the number of rows).

    Returns:
        One dict per (input, output): name, batch, shape, max_abs_diff, max_abs, tolerance, ok.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, torch.get_num_threads())
    options.log_severity_level = 3
    session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    input_name = session.get_inputs()[0].name
    names = [output.name for output in session.get_outputs()]
    reports = []
    for tensor in inputs:
        with torch.no_grad():
            expected = [t.detach().cpu().numpy() for t in flatten_outputs(model(tensor))]
        got = session.run(None, {input_name: tensor.detach().cpu().numpy()})
        for name, want, have in zip(names, expected, got):
            report = dict(name=name, batch=int(tensor.shape[0]), shape=tuple(have.shape))
            if want.shape != have.shape:
                report.update(max_abs_diff=float('inf'), max_abs=0.0, tolerance=0.0, ok=False)
            elif not np.issubdtype(want.dtype, np.floating):
                # index lists (NMS rows), in any order. Boxes whose scores tie within float rounding (an
                # untrained head scores every prior alike) may be kept by one runtime and suppressed by the
                # other, so a few rows may differ: up to ``index_tolerance`` of them, and never the count.
                want_rows = {tuple(row) for row in want.reshape(len(want), -1).tolist()}
                have_rows = {tuple(row) for row in have.reshape(len(have), -1).tolist()}
                differing = len(want_rows ^ have_rows) // 2
                allowed = int(index_tolerance * max(len(want_rows), 1))
                report.update(max_abs_diff=float(differing), max_abs=float(len(want_rows)),
                              tolerance=float(allowed), differing_rows=differing,
                              ok=len(want_rows) == len(have_rows) and differing <= allowed)
            else:
                max_abs = float(np.abs(want).max()) if want.size else 0.0
                diff = float(np.abs(want.astype(np.float64) - have).max()) if want.size else 0.0
                tolerance = atol + rtol * max_abs
                report.update(max_abs_diff=diff, max_abs=max_abs, tolerance=tolerance, ok=diff <= tolerance)
            reports.append(report)
    return reports
