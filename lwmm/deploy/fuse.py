"""Fold BatchNorm into the convolution before it, for inference.

In eval mode a BatchNorm is the per-channel affine map ``y = s * (x - mean) + beta`` with
``s = gamma / sqrt(var + eps)``. When ``x`` is the output of a convolution ``W * u + b``, the pair is one
convolution with kernel ``s * W`` (each output channel's filter scaled) and bias ``s * (b - mean) + beta``
(the classic folding, e.g. Jacob et al., "Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference", CVPR 2018, Sec. 3.2). The deploy form runs one op where there were two.

What is folded, by module type (anything else is left as it is and reported by :func:`unfused_norms`):

- mmcv ``ConvModule`` whose ``order`` puts the norm right after the conv (every ConvModule in lwmm,
  mmpretrain, mmdet and mmseg, lwmm's ``ConvNormAct`` included: Ghost and inverted residual blocks,
  MobileViT blocks, ASPP, SSD heads...); its conv may be an ``nn.Conv{1,2,3}d`` or an lwmm
  ``DynamicConv2d``.
- lwmm ``OctaveConvModule``: the per-frequency BNs (see :func:`fold_octave_conv_module`).
- ``nn.Sequential`` children ``conv, bn`` next to each other (the timm / torchvision idiom), and
  ``nn.Linear, nn.BatchNorm1d`` likewise.

A folded BN is replaced by ``nn.Identity`` (a ConvModule's norm is also switched off), so every forward
path is unchanged. The result is for inference only: training it would train conv and BN as one layer.
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from lwmm.models.layers.dynamic_conv import DynamicConv2d
from lwmm.models.layers.octave_conv import OctaveConvModule

FOLDABLE_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, DynamicConv2d, nn.Linear)


def bn_scale_shift(bn: _BatchNorm) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(s, t)`` of the eval-mode BN as the affine map ``y = s * x + t``, in float64."""
    var = bn.running_var.double()
    mean = bn.running_mean.double()
    scale = torch.rsqrt(var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.double()
    shift = -mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias.double()
    return scale, shift


def can_fold(conv: nn.Module, bn: nn.Module) -> Optional[str]:
    """None when ``bn`` can be folded into ``conv``, else the reason it cannot."""
    if not isinstance(bn, _BatchNorm):
        return f'{type(bn).__name__} is not a BatchNorm'
    if not isinstance(conv, FOLDABLE_CONVS):
        return f'{type(conv).__name__} is not a convolution lwmm can fold into'
    if not bn.track_running_stats or bn.running_mean is None:
        return 'the BatchNorm has no running statistics (it normalises with batch statistics)'
    out_channels = conv.out_features if isinstance(conv, nn.Linear) else conv.out_channels
    if bn.num_features != out_channels:
        return f'channel mismatch: the BN has {bn.num_features} channels, the conv produces {out_channels}'
    return None


def _as_weight(scale: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The float64 BN scale in the kernel's dtype: kernels are scaled in place in their own precision
    (a float64 copy of the big kernels of ASPP heads made folding several times slower; the extra
    rounding is one float32 ulp, far below the tests' 1e-5)."""
    return scale.to(device=weight.device, dtype=weight.dtype)


def _set_bias(conv: nn.Module, bias: torch.Tensor) -> None:
    """Write ``bias`` (float64) into ``conv.bias``, creating the parameter where the conv had none."""
    reference = conv.weight
    value = bias.to(reference.dtype).to(reference.device)
    if conv.bias is None:
        conv.bias = nn.Parameter(value, requires_grad=reference.requires_grad)
    else:
        with torch.no_grad():
            conv.bias.copy_(value)


def fold_bn_into_conv(conv: nn.Module, bn: _BatchNorm) -> None:
    """Fold the eval-mode ``bn`` into ``conv`` (in place). ``conv`` must be what feeds ``bn`` alone."""
    reason = can_fold(conv, bn)
    if reason is not None:
        raise ValueError(f'fold_bn_into_conv: cannot fold {bn!r} into {conv!r}: {reason}.')
    scale, shift = bn_scale_shift(bn)
    with torch.no_grad():
        if isinstance(conv, DynamicConv2d):
            # y = conv(x, sum_k pi_k W_k) + sum_k pi_k b_k with attention pi >= 0, sum_k pi_k = 1 (softmax).
            # BN(y) = s * y + t = conv(x, sum_k pi_k (s W_k)) + sum_k pi_k (s b_k) + t, and because the
            # weights sum to 1, t = sum_k pi_k t: every kernel is scaled by s and every kernel's bias
            # becomes s * b_k + t. Exact for any input; the attention branch reads x, not y, so it is
            # untouched. (An attention forced to weights not summing to 1 would break the last step.)
            conv.weight.mul_(_as_weight(scale, conv.weight).view(1, -1, *([1] * (conv.weight.dim() - 2))))
            old_bias = (conv.bias.double() if conv.bias is not None else
                        torch.zeros(conv.weight.shape[:2], dtype=torch.float64, device=conv.weight.device))
            new_bias = old_bias * scale.view(1, -1) + shift.view(1, -1)
            _set_bias(conv, new_bias)
            return
        conv.weight.mul_(_as_weight(scale, conv.weight).view(-1, *([1] * (conv.weight.dim() - 1))))
        old_bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
        _set_bias(conv, old_bias * scale + shift)


def _fold_conv_module(module) -> bool:
    """Fold an mmcv ConvModule's norm into its conv; False where its layout does not allow it."""
    if not module.with_norm:
        return False
    order = tuple(module.order)
    if order.index('norm') != order.index('conv') + 1:
        return False  # pre-activation layouts (norm before conv) have nothing to fold into
    norm = module.norm
    if can_fold(module.conv, norm) is not None:
        return False
    fold_bn_into_conv(module.conv, norm)
    setattr(module, module.norm_name, nn.Identity())
    module.with_norm = False
    return True


def _path_scale(conv: nn.Conv2d, scale: torch.Tensor) -> None:
    with torch.no_grad():
        conv.weight.mul_(_as_weight(scale, conv.weight).view(-1, 1, 1, 1))
        if conv.bias is not None:
            conv.bias.copy_((conv.bias.double() * scale).to(conv.bias.dtype))


def fold_octave_conv_module(module: OctaveConvModule) -> bool:
    """Fold the high and low BNs of an ``OctaveConvModule`` into its octave conv.

    ``Y_high = H->H(x_h) + up(L->H(x_l))`` and ``Y_low = L->L(x_l) + H->L(pool(x_h))``: each output part is
    a sum of convolutions whose inputs are resampled by nearest upsampling or average pooling, both
    linear and applied before the conv (pooling) or channel-wise after it (upsampling, which commutes with
    a per-channel scale and preserves a constant). So BN_high's scale multiplies the kernels (and biases)
    of every path producing the high part, and its shift goes into one bias of that part (H->H's); the
    same for the low part (L->L's bias, or H->L's where there is no L->L). Exact up to rounding.
    """
    if module.norm_h is None:
        return False
    conv = module.conv
    parts = [(module.norm_h, [conv.h2h, conv.l2h], conv.h2h)]
    if module.norm_l is not None:
        parts.append((module.norm_l, [conv.l2l, conv.h2l], conv.l2l if conv.l2l is not None else conv.h2l))
    for norm, _, bias_path in parts:
        if bias_path is None or can_fold(bias_path, norm) is not None:
            return False
    for norm, paths, bias_path in parts:
        scale, shift = bn_scale_shift(norm)
        existing = [path for path in paths if path is not None]
        # the part's current bias: the sum of its paths' biases (one path carries it, see OctaveConv2d)
        total_bias = torch.zeros_like(scale)
        for path in existing:
            if path.bias is not None:
                total_bias = total_bias + path.bias.double()
        for path in existing:
            _path_scale(path, scale)
            if path is not bias_path and path.bias is not None:
                path.bias = None
        _set_bias(bias_path, total_bias * scale + shift)
    module.norm_h = module.norm_l = None
    return True


def _fold_sequential(sequential: nn.Sequential) -> int:
    """Fold each ``conv, bn`` pair of consecutive children; returns how many were folded."""
    folded = 0
    names = list(sequential._modules)
    for first, second in zip(names, names[1:]):
        conv, bn = sequential._modules[first], sequential._modules[second]
        if isinstance(bn, _BatchNorm) and can_fold(conv, bn) is None:
            fold_bn_into_conv(conv, bn)
            # timm's BatchNormAct2d carries its activation (and dropout) inside the norm: keep those
            tail = [getattr(bn, attr) for attr in ('drop', 'act') if isinstance(getattr(bn, attr, None), nn.Module)]
            sequential._modules[second] = nn.Sequential(*tail) if tail else nn.Identity()
            folded += 1
    return folded


def fuse_conv_bn(model: nn.Module) -> Dict[str, int]:
    """Fold every foldable BN of ``model`` into the conv before it (in place); see the module docstring.

    Returns the number of BNs folded per kind: ``{'conv_module': n, 'octave': n, 'sequential': n}``.
    """
    from mmcv.cnn import ConvModule

    counts = dict(conv_module=0, octave=0, sequential=0)
    for module in list(model.modules()):
        if isinstance(module, ConvModule):
            counts['conv_module'] += int(_fold_conv_module(module))
        elif isinstance(module, OctaveConvModule):
            num_norms = 1 + int(module.norm_l is not None)
            counts['octave'] += num_norms if fold_octave_conv_module(module) else 0
        elif isinstance(module, nn.Sequential):
            counts['sequential'] += _fold_sequential(module)
    return counts


def unfused_norms(model: nn.Module) -> List[str]:
    """Names of the BatchNorm layers still in ``model`` (those :func:`fuse_conv_bn` could not fold)."""
    return [name for name, module in model.named_modules() if isinstance(module, _BatchNorm)]


def randomize_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BN non-trivial statistics and affine parameters, and put ``model`` in eval mode.

    For verifying folding: a freshly initialised BN (mean 0, var 1, weight 1, bias 0) is nearly the
    identity, which would hide a wrong fold. Running means ~ N(0, 0.2^2), variances in [0.4, 1.2],
    weights in [0.5, 1.5], biases ~ N(0, 0.2^2); BNs without running statistics keep theirs.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if not isinstance(module, _BatchNorm):
                continue
            n = module.num_features
            if module.track_running_stats and module.running_mean is not None:
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.2)
                module.running_var.copy_(torch.rand(n, generator=generator) * 0.8 + 0.4)
            if module.weight is not None:
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.2)
    return model.eval()


def switch_to_deploy(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm into the conv before it, put the model in eval mode, return it (in place).

    Covers all lwmm blocks and the plain conv-BN pairs of OpenMMLab and timm models (mmcv ``ConvModule``,
    ``nn.Sequential(conv, bn)``). BNs that cannot be folded (not preceded by a conv, no running
    statistics) stay and are listed by :func:`unfused_norms`. Outputs equal the eval-mode model's up to
    float rounding (tests/deploy/test_fuse.py checks every backbone).
    """
    model.eval()
    fuse_conv_bn(model)
    model.eval()
    return model
