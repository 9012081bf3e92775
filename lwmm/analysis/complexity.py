"""Parameter and multiply-add counts, counted as the mobile-network papers count them.

One multiply-add per weight use of every convolution and linear layer (fvcore's convention, through
mmengine.analysis), plus the matrix products of attention (``scaled_dot_product_attention``: QK^T and
AV) and of any ``matmul``/``bmm``/``einsum`` such as DynamicConv's kernel aggregation. Element-wise
operations (activations, BatchNorm, additions, gating multiplies, pooling, resizing) are left out, as
the papers leave them out.
"""
from collections import Counter
from numbers import Number
from typing import Any, Dict, List, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape


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
                     by_module: bool = False) -> Dict[str, Any]:
    """Count parameters and multiply-adds of ``model`` for one input.

    Args:
        model: Any module; it is put in eval mode for the count.
        input_shape: Shape of the input tensor (batch included) when ``inputs`` is None.
        inputs: Explicit inputs (a tensor or a tuple) instead of ``input_shape``.
        by_module: Also return ``'by_module'``: multiply-adds per module name.

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
    model.train(was_training)
    return result


def format_count(value: Number, unit: str = '') -> str:
    """1234567 -> '1.23M' (G, M, K), the papers' way of writing counts."""
    for suffix, scale in (('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(value) >= scale:
            return f'{value / scale:.2f}{suffix}{unit}'
    return f'{value}{unit}'
