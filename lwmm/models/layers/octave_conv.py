"""Octave convolution (Chen et al., "Drop an Octave: Reducing Spatial Redundancy in Convolutional Neural
Networks with Octave Convolution", ICCV 2019, https://arxiv.org/abs/1904.05049).

A feature map is factorised into a high-frequency part at full resolution and a low-frequency part at
half resolution; ``alpha`` is the fraction of channels in the low part. An octave convolution computes
four paths and sums them per output frequency::

    Y_high = f(X_high; W_H->H) + upsample(f(X_low; W_L->H))
    Y_low  = f(X_low;  W_L->L) + f(pool(X_high); W_H->L)

Conventions shared by every module in this file:

- A feature is a plain tensor where it has no low part, else a ``(high, low)`` tuple (see
  :func:`octave_parts` / :func:`octave_pack`).
- Sizes: ``low`` is ``ceil(high / 2)`` in each spatial dim. Every halving is a 2x2 average pool with
  ``ceil_mode=True`` that averages only the pixels inside the map; every doubling is a nearest 2x upsample
  cropped to the exact high-frequency size. Odd sizes therefore work: a 7x9 high part has a 4x5 low part,
  whose upsampled L->H output is 8x10 cropped to 7x9 (the same pixels ``interpolate(size=(7, 9))`` picks).
- Channels: the low part of ``c`` channels has ``floor(alpha * c)`` channels, the high part the rest (the
  official code's rule).
"""
import math
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer

from ...registry import MODELS
from .validation import check_int

OctaveFeature = Union[torch.Tensor, Tuple[torch.Tensor, Optional[torch.Tensor]]]


# -- the two-part feature ----------------------------------------------------------------------------------
def split_channels(channels: int, alpha: float) -> Tuple[int, int]:
    """``(high, low)`` channel counts of ``channels`` split at ``alpha`` (low = floor(alpha * channels))."""
    low = int(math.floor(alpha * channels + 1e-9))
    return channels - low, low


def octave_parts(x: OctaveFeature) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``(high, low)`` of a feature; ``low`` is None for a plain tensor."""
    if isinstance(x, torch.Tensor):
        return x, None
    if isinstance(x, (tuple, list)) and len(x) == 2 and isinstance(x[0], torch.Tensor):
        return x[0], x[1]
    raise TypeError(f'An octave feature is a tensor or a (high, low) pair of tensors, got {type(x)}.')


def octave_pack(high: torch.Tensor, low: Optional[torch.Tensor]) -> OctaveFeature:
    """Inverse of :func:`octave_parts`: a plain tensor where there is no low part."""
    return high if low is None else (high, low)


def octave_map(fn: Callable, x: OctaveFeature) -> OctaveFeature:
    """Apply one element-wise function (an activation) to each part."""
    high, low = octave_parts(x)
    return octave_pack(fn(high), None if low is None else fn(low))


def octave_add(x: OctaveFeature, y: OctaveFeature) -> OctaveFeature:
    """Sum two features part by part (residual connections)."""
    x_high, x_low = octave_parts(x)
    y_high, y_low = octave_parts(y)
    if (x_low is None) != (y_low is None):
        raise ValueError('octave_add: cannot add a (high, low) pair to a plain tensor.')
    return octave_pack(x_high + y_high, None if x_low is None else x_low + y_low)


def downsample(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """``factor`` x ``factor`` average pool, ceil mode, averaging only pixels inside the map."""
    return F.avg_pool2d(x, factor, factor, ceil_mode=True, count_include_pad=False)


def upsample_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Nearest 2x upsample cropped to ``size`` (``ceil(size / 2) == x`` size, so at most one row/col)."""
    x = F.interpolate(x, scale_factor=2.0, mode='nearest')
    if tuple(x.shape[-2:]) != tuple(size):
        x = x[..., :size[0], :size[1]]
    return x


def add_upsampled(high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
    """``high + upsample_to(low, high size)`` (the L->H sum), without materialising the upsampled map.

    For even sizes the nearest 2x upsample is a broadcast over 2x2 blocks, which saves a full-size write
    and read (about 3x faster than upsample-then-add on CPU at batch 16); odd sizes take the explicit
    path, and so does ONNX export: traced, the 6-d views become a chain of shape operators per sum (about
    ten nodes, run at every inference) and a layout ONNX Runtime's blocked convs cannot stay in, where
    ``Resize`` + ``Add`` needs neither.
    """
    n, c, h, w = high.shape
    if h % 2 or w % 2 or torch.onnx.is_in_onnx_export():
        return high + upsample_to(low, (h, w))
    # splitting H and W into (H/2, 2) and (W/2, 2) is a view in any memory format (NCHW or NHWC)
    blocks = high.view(n, c, h // 2, 2, w // 2, 2) + low.reshape(n, c, h // 2, 1, w // 2, 1)
    return blocks.reshape(n, c, h, w)


def octave_merge(x: OctaveFeature) -> torch.Tensor:
    """One tensor at the high resolution: ``cat([high, upsample(low)])`` (the official ``Adapter``).

    Keeps every channel, so a neck sees the channel count and stride of the vanilla network; costs no
    multiply-adds.
    """
    high, low = octave_parts(x)
    if low is None:
        return high
    return torch.cat([high, upsample_to(low, high.shape[-2:])], dim=1)


# -- the convolution -----------------------------------------------------------------------------------------
def _stack_paths(paths: Sequence[nn.Conv2d]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Kernel and bias of one conv over the paths' inputs stacked, which sums the paths' outputs."""
    weight = torch.cat([conv.weight for conv in paths], 1)
    biases = [conv.bias for conv in paths if conv.bias is not None]
    return weight, sum(biases) if biases else None


@MODELS.register_module()
class OctaveConv2d(nn.Module):
    """Octave convolution: four convolutions H->H, H->L, L->H, L->L between two frequencies.

    The first layer of an octave network is ``alpha_in=0`` (a plain tensor in, a pair out), the last is
    ``alpha_out=0`` (a pair in, a plain tensor out); with both zero the layer is exactly ``nn.Conv2d``
    (stride included), so a network built with alpha 0 is its vanilla counterpart.

    - H->L: 2x2 average pool of the high input, then conv.  L->H: conv on the low input, then nearest
      2x upsample (cropped to the high size).
    - Stride 2 (as the paper): the high input is average-pooled first instead of striding the conv, which
      keeps the two grids aligned; L->L pools its input, H->L pools the high input 4x4, and L->H needs no
      upsample since the low input already has the output's high resolution (the official code's rule).
    - Depthwise (``groups == in_channels == out_channels``): only H->H and L->L, each depthwise.
    - Other ``groups`` apply to all four paths; every part must be divisible by ``groups``.
    - ``bias``: one bias per output part (on H->H, and on L->L or else H->L), so parameters equal the plain
      conv's: ``in * out * k * k / groups (+ out)``.

    Args:
        in_channels (int): Channels of the input, both parts together.
        out_channels (int): Channels of the output, both parts together.
        kernel_size (int): Square kernel size; odd when either alpha is non-zero.
        alpha_in (float): Low-frequency fraction of the input channels, in [0, 1).
        alpha_out (float): Low-frequency fraction of the output channels, in [0, 1).
        stride (int): 1 or 2.
        padding (int, optional): Defaults to ``dilation * (kernel_size - 1) // 2``; an octave layer
            requires that "same" padding (the two parts must keep their 2:1 size ratio).
        dilation (int): Dilation of every path.
        groups (int): Groups of every path; ``in_channels`` for depthwise.
        bias (bool): Learn one bias per output channel.
        merge_paths (bool): Run paths summed into one output as one conv over their inputs stacked
            (fewer, larger convs: 2 or 3 instead of 4; same result, parameters and multiply-adds, see
            :meth:`_forward_merged`); False runs the four paths separately. Grouped layers (other than
            depthwise) always run them separately. :func:`set_merge_paths` switches a whole network.

    Shapes:
        input: ``(N, in_channels, H, W)`` if ``alpha_in == 0``, else ``(high, low)`` with high
        ``(N, in_h, H, W)`` and low ``(N, in_l, ceil(H/2), ceil(W/2))``, ``in_l = floor(alpha_in *
        in_channels)``. Output likewise with ``alpha_out``, at ``ceil(H / stride)``; a vanilla layer (no low
        part in or out) has ``nn.Conv2d``'s size, which is the same with the default padding and an odd kernel.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 alpha_in: float = 0.5,
                 alpha_out: float = 0.5,
                 stride: int = 1,
                 padding: Optional[int] = None,
                 dilation: int = 1,
                 groups: int = 1,
                 bias: bool = False,
                 merge_paths: bool = True):
        super().__init__()
        name = type(self).__name__
        for arg, alpha in (('alpha_in', alpha_in), ('alpha_out', alpha_out)):
            if not isinstance(alpha, (int, float)) or not 0 <= alpha < 1:
                raise ValueError(f'{name}: {arg}={alpha!r} is not supported; use a fraction in [0, 1).')
        for arg, value in (('in_channels', in_channels), ('out_channels', out_channels),
                           ('kernel_size', kernel_size), ('dilation', dilation), ('groups', groups)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{name}: {arg}={value!r} is not supported; use a positive int.')
        if stride not in (1, 2):
            raise ValueError(f'{name}: stride={stride!r} is not supported; choose one of [1, 2].')
        if in_channels % groups or out_channels % groups:
            raise ValueError(f'{name}: groups={groups} is not supported; it must divide in_channels={in_channels} '
                             f'and out_channels={out_channels}.')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.dilation, self.groups = kernel_size, stride, dilation, groups
        self.alpha_in, self.alpha_out = alpha_in, alpha_out
        self.in_h, self.in_l = split_channels(in_channels, alpha_in)
        self.out_h, self.out_l = split_channels(out_channels, alpha_out)
        for arg, alpha, channels, low in (('alpha_in', alpha_in, 'in_channels', self.in_l),
                                          ('alpha_out', alpha_out, 'out_channels', self.out_l)):
            if alpha > 0 and low == 0:
                raise ValueError(f'{name}: {arg}={alpha} leaves no low-frequency channel of {channels}='
                                 f'{in_channels if channels == "in_channels" else out_channels}; use a '
                                 f'larger alpha or 0.')
        self.is_vanilla = self.in_l == 0 and self.out_l == 0
        self.is_depthwise = groups > 1 and groups == in_channels
        mismatch = out_channels != in_channels or alpha_out != alpha_in
        if self.is_depthwise and not self.is_vanilla and mismatch:
            raise ValueError(f'{name}: a depthwise layer (groups={groups} == in_channels) needs '
                             f'out_channels == in_channels and alpha_out == alpha_in, got out_channels='
                             f'{out_channels}, alpha_in={alpha_in}, alpha_out={alpha_out}.')
        if groups > 1 and not self.is_depthwise:
            parts = [c for c in (self.in_h, self.in_l, self.out_h, self.out_l) if c]
            if any(c % groups for c in parts):
                raise ValueError(f'{name}: groups={groups} must divide every channel part (in high/low '
                                 f'{self.in_h}/{self.in_l}, out high/low {self.out_h}/{self.out_l}).')
        same = dilation * (kernel_size - 1) // 2
        padding = same if padding is None else padding
        check_int(name, 'padding', padding, minimum=0, hint='None for "same" padding')
        if not self.is_vanilla and (kernel_size % 2 == 0 or padding != same):
            raise ValueError(f'{name}: kernel_size={kernel_size}, padding={padding!r} is not supported for '
                             f'an octave layer; use an odd kernel with padding {same} (dilation * '
                             f'(kernel_size - 1) // 2) so both frequencies keep their sizes.')
        self.padding = padding

        def path(cin: int, cout: int, path_groups: int, path_bias: bool, path_stride: int = 1):
            if cin == 0 or cout == 0:
                return None
            return nn.Conv2d(cin, cout, kernel_size, path_stride, padding, dilation, path_groups, path_bias)

        # a vanilla layer strides in its conv: it has no low grid to stay aligned with
        high_stride = stride if self.is_vanilla else 1
        if self.is_depthwise:
            self.h2h = path(self.in_h, self.out_h, self.in_h, bias, high_stride)
            self.h2l = None
            self.l2h = None
            self.l2l = path(self.in_l, self.out_l, self.in_l, bias)
        else:
            self.h2h = path(self.in_h, self.out_h, groups, bias, high_stride)
            self.h2l = path(self.in_h, self.out_l, groups, bias and self.in_l == 0)
            self.l2h = path(self.in_l, self.out_h, groups, False)
            self.l2l = path(self.in_l, self.out_l, groups, bias)
        self.merge_paths = merge_paths
        # merged kernels for inference, rebuilt when a path's weight or bias changes (see _merged)
        self._merged_cache = {}

    def paths(self):
        """The existing convolutions among H->H, H->L, L->H, L->L."""
        return [conv for conv in (self.h2h, self.h2l, self.l2h, self.l2l) if conv is not None]

    def set_dilation(self, dilation: int) -> None:
        """Drop the stride and dilate every path (the atrous trick of dense prediction)."""
        self.stride, self.dilation = 1, dilation
        if self.kernel_size > 1:
            self.padding = dilation * (self.kernel_size - 1) // 2
        for conv in self.paths():
            conv.stride = (1, 1)
            if self.kernel_size > 1:
                conv.dilation = (dilation, dilation)
                conv.padding = (self.padding, self.padding)

    def _check_input(self, x: OctaveFeature) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        name = type(self).__name__
        high, low = octave_parts(x)
        if self.in_l == 0 and low is not None:
            raise ValueError(f'{name}: alpha_in=0 takes a plain tensor, got a (high, low) pair.')
        if self.in_l > 0 and low is None:
            raise ValueError(f'{name}: alpha_in={self.alpha_in} takes a (high, low) pair, got one tensor.')
        if high.dim() != 4 or high.shape[1] != self.in_h or high.shape[2] < 1 or high.shape[3] < 1:
            raise ValueError(f'{name}: the high-frequency input must be (N, {self.in_h}, H, W) with H, W >= 1, '
                             f'got {tuple(high.shape)}.')
        if low is not None:
            expected = (high.shape[0], self.in_l, (high.shape[2] + 1) // 2, (high.shape[3] + 1) // 2)
            if tuple(low.shape) != expected:
                raise ValueError(f'{name}: with a high part of {tuple(high.shape)} the low part must be '
                                 f'{expected} (ceil of half the size), got {tuple(low.shape)}.')
        span = self.dilation * (self.kernel_size - 1) + 1
        if self.is_vanilla and min(high.shape[2], high.shape[3]) + 2 * self.padding < span:
            raise ValueError(f'{name}: input of size {high.shape[2]}x{high.shape[3]} is too small for the '
                             f'{self.kernel_size}x{self.kernel_size} kernel with padding {self.padding} and '
                             f'dilation {self.dilation}: it needs at least {span - 2 * self.padding} px a side.')
        return high, low

    def forward(self, x: OctaveFeature) -> OctaveFeature:
        high, low = self._check_input(x)
        if self.is_vanilla:
            return self.h2h(high)
        # a grouped kernel's groups would interleave across merged channels; depthwise has no shared input
        if self.merge_paths and self.groups == 1:
            return self._forward_merged(high, low)
        return self._forward_paths(high, low)

    def _merged(self, paths: Sequence[nn.Conv2d]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Kernel and bias of one conv computing the sum of ``paths`` on their inputs stacked.

        Training concatenates the parameters at each call, so gradients reach every path; without autograd
        the result is cached until a path's tensors change (in place, as BN folding and ``load_state_dict``
        do, or replaced): copying the kernels at each batch-1 call costs more than merging saves.
        """
        if len(paths) == 1:
            return paths[0].weight, paths[0].bias
        tensors = [t for conv in paths for t in (conv.weight, conv.bias) if t is not None]
        # inference tensors (made under inference_mode) have no version counter to tell a change by
        cache = not (torch.jit.is_tracing() or torch.compiler.is_compiling()
                     or any(t.is_inference() for t in tensors)
                     or (torch.is_grad_enabled() and any(t.requires_grad for t in tensors)))
        key = tuple(id(conv) for conv in paths)
        if cache and key in self._merged_cache:
            stamp, merged = self._merged_cache[key]
            if len(stamp) == len(tensors) and all(
                    old is t and version == t._version and ptr == t.data_ptr()
                    for (old, version, ptr), t in zip(stamp, tensors)):
                return merged
        if not cache:
            return _stack_paths(paths)
        # a plain tensor even under inference_mode, so a later forward that records autograd may save it
        with torch.inference_mode(False), torch.no_grad():
            merged = _stack_paths(paths)
        self._merged_cache[key] = (tuple((t, t._version, t.data_ptr()) for t in tensors), merged)
        return merged

    def _conv(self, x: torch.Tensor, *paths: nn.Conv2d) -> torch.Tensor:
        weight, bias = self._merged(paths)
        return F.conv2d(x, weight, bias, 1, self.h2h.padding, self.h2h.dilation)

    def _forward_merged(self, high: torch.Tensor, low: Optional[torch.Tensor]) -> OctaveFeature:
        """The four paths as two or three convs (same result as :meth:`_forward_paths`).

        Paths summed into one output from inputs of one size share a conv over the inputs stacked. Stride
        1: H->H, L->H, and H->L with L->L on ``[pool(X_high), X_low]``. Stride 2: every input is at the
        output's high resolution or pooled from it, so ``[pool(X_high), X_low]`` feeds H->H with L->H and,
        pooled again, H->L with L->L. Stacking outputs instead (L->H with L->L, which read one input) needs
        channel slices after the conv, which cost ONNX Runtime a layout change each.
        """
        if self.stride == 2:
            pooled = downsample(high)
            # pool(pool(x)) is the 4x4 pool unless a size is 3 mod 4 (a 3-pixel window averaged as 2 + 1)
            nested = high.shape[2] % 4 != 3 and high.shape[3] % 4 != 3
            if low is None:
                out_high = self._conv(pooled, self.h2h)
                out_low = None
                if self.h2l is not None:
                    out_low = self._conv(downsample(pooled) if nested else downsample(high, 4), self.h2l)
                return octave_pack(out_high, out_low)
            both = torch.cat([pooled, low], 1)
            out_high = self._conv(both, self.h2h, self.l2h)
            if self.l2l is None:
                return out_high
            low_in = downsample(both) if nested else torch.cat([downsample(high, 4), downsample(low)], 1)
            return out_high, self._conv(low_in, self.h2l, self.l2l)
        out_high = self._conv(high, self.h2h)
        if low is None:
            return octave_pack(out_high, None if self.h2l is None else self._conv(downsample(high), self.h2l))
        out_high = add_upsampled(out_high, self._conv(low, self.l2h))
        if self.l2l is None:
            return out_high
        return out_high, self._conv(torch.cat([downsample(high), low], 1), self.h2l, self.l2l)

    def _forward_paths(self, high: torch.Tensor, low: Optional[torch.Tensor]) -> OctaveFeature:
        """The paper's four paths, one conv each (grouped and depthwise layers, and the reference)."""
        out_high = self.h2h(high if self.stride == 1 else downsample(high))
        out_low = None if self.h2l is None else self.h2l(downsample(high, 2 * self.stride))
        if low is not None:
            if self.l2h is not None:
                low_to_high = self.l2h(low)
                if self.stride == 1:
                    out_high = add_upsampled(out_high, low_to_high)
                else:
                    out_high = out_high + low_to_high
            if self.l2l is not None:
                low_to_low = self.l2l(low if self.stride == 1 else downsample(low))
                out_low = low_to_low if out_low is None else out_low + low_to_low
        return octave_pack(out_high, out_low)

    def extra_repr(self) -> str:
        return (f'{self.in_channels} ({self.in_h}+{self.in_l}), {self.out_channels} ({self.out_h}+'
                f'{self.out_l}), kernel_size={self.kernel_size}, stride={self.stride}, '
                f'dilation={self.dilation}, groups={self.groups}, alpha_in={self.alpha_in}, '
                f'alpha_out={self.alpha_out}')


@MODELS.register_module()
class OctaveConvModule(nn.Module):
    """Octave conv, then one norm layer per output part, then the activation on each part.

    The octave counterpart of mmcv's ``ConvModule`` (conv-norm-act); BN statistics are kept per frequency
    since the two parts are different maps. With both alphas 0 it computes exactly ``ConvModule``.

    Args:
        in_channels, out_channels, kernel_size, alpha_in, alpha_out, stride, padding, dilation, groups:
            As :class:`OctaveConv2d`.
        bias (bool or 'auto'): Conv bias; 'auto' means bias only without a norm layer.
        norm_cfg (dict, optional): Norm layer of each part, e.g. ``dict(type='BN')``; None for none.
        act_cfg (dict, optional): Activation applied to each part; None for none.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 alpha_in: float = 0.5,
                 alpha_out: float = 0.5,
                 stride: int = 1,
                 padding: Optional[int] = None,
                 dilation: int = 1,
                 groups: int = 1,
                 bias: Union[bool, str] = 'auto',
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU', inplace=True)):
        super().__init__()
        if bias == 'auto':
            bias = norm_cfg is None
        self.conv = OctaveConv2d(in_channels, out_channels, kernel_size, alpha_in, alpha_out, stride,
                                 padding, dilation, groups, bias)
        self.norm_h = self.norm_l = None
        if norm_cfg is not None:
            self.norm_h = build_norm_layer(norm_cfg, self.conv.out_h)[1]
            if self.conv.out_l:
                self.norm_l = build_norm_layer(norm_cfg, self.conv.out_l)[1]
        self.act = None if act_cfg is None else build_activation_layer(act_cfg)

    def forward(self, x: OctaveFeature) -> OctaveFeature:
        high, low = octave_parts(self.conv(x))
        if self.norm_h is not None:
            high = self.norm_h(high)
            low = None if low is None else self.norm_l(low)
        out = octave_pack(high, low)
        return out if self.act is None else octave_map(self.act, out)


def set_merge_paths(module: nn.Module, merge: bool) -> int:
    """Set ``merge_paths`` of every :class:`OctaveConv2d` in ``module``; returns how many were set."""
    convs = [m for m in module.modules() if isinstance(m, OctaveConv2d)]
    for conv in convs:
        conv.merge_paths = merge
    return len(convs)


class OctaveDilation:
    """For backbones built of :class:`OctaveConv2d`: ``StagedBackbone.dilate_stage``'s stride-to-dilation rule
    applied to whole octave layers (all their paths at once), not to the paths' convs one by one."""

    def dilated_convs(self, stage: nn.Module) -> List['OctaveConv2d']:
        return [conv for conv in stage.modules()
                if isinstance(conv, OctaveConv2d) and (conv.stride != 1 or conv.kernel_size > 1)]

    @staticmethod
    def dilate_conv(conv: 'OctaveConv2d', dilation: int) -> None:
        conv.set_dilation(dilation)
