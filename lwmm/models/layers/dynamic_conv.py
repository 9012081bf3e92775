"""Dynamic convolution (Chen et al., "Dynamic Convolution: Attention over Convolution Kernels", CVPR 2020).

A dynamic convolution keeps ``K`` kernels of the same shape and, for every sample, convolves with their
attention-weighted sum. The kernel attention is a squeeze-and-excitation branch (global average pool,
FC, ReLU, FC) followed by a softmax whose temperature is annealed during training
(``lwmm.engine.temperature``).

``convert_to_dynamic`` turns any network's ``nn.Conv2d`` layers into ``DynamicConv2d`` by a configurable
rule, which is how the DY networks (``lwmm.models.backbones.dy_mobilenet``, ``dy_resnet``) and the
``lwmm.DynamicConvBackbone`` wrapper are built from their static blocks.
"""
import math
import re
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.utils import _pair

from lwmm.registry import MODELS
from .validation import check_input, check_int, check_range, is_int


class KernelAttention(nn.Module):
    """Attention over the K kernels: global average pool, FC, ReLU, FC, softmax(logits / temperature).

    Built by ``DynamicConv2d``, whose constructor checks these arguments (as ``K``, ``reduction``,
    ``temperature``) and whose ``temperature`` property sets the temperature.

    Args:
        in_channels (int): Channels of the input feature map.
        num_kernels (int): K, the number of kernels attended over.
        reduction (int): The first FC reduces ``in_channels`` by this ratio (4 in the paper).
        temperature (float): Softmax temperature tau; large values give near-uniform attention.
    """

    def __init__(self, in_channels: int, num_kernels: int, reduction: int = 4, temperature: float = 1.0):
        super().__init__()
        hidden = max(in_channels // reduction, 1)
        self.fc1 = nn.Linear(in_channels, hidden)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, num_kernels)
        self.temperature = float(temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, K) attention weights that sum to 1 over K."""
        logits = self.fc2(self.act(self.fc1(x.mean((2, 3)))))
        if self.temperature != 1.0:
            logits = logits / self.temperature
        return F.softmax(logits, dim=1)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}'


@MODELS.register_module()
class DynamicConv2d(nn.Module):
    """A 2-D convolution whose kernel is an input-dependent mixture of K kernels.

    ``y = conv(x, sum_k pi_k(x) W_k) + sum_k pi_k(x) b_k`` with ``pi(x) = softmax(FC(ReLU(FC(GAP(x)))) /
    tau)``. The kernels of the whole batch are aggregated with one matrix product and applied as a single
    grouped convolution (the batch folded into the groups), so no loop runs over the samples. The forward
    keeps nothing on the module between calls: threads may share one layer. A dynamic-batch ONNX export
    replaces only that last step (``lwmm.deploy.onnx.dynamic_conv_per_sample``; ONNX fixes the group count).

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        kernel_size (int or tuple): Kernel size.
        stride, padding, dilation: As ``nn.Conv2d``.
        groups (int): As ``nn.Conv2d``; each of the K kernels has shape
            ``(out_channels, in_channels // groups, kh, kw)``, so depthwise kernels have one input channel.
        bias (bool): Learn K biases, aggregated with the same attention.
        K (int): Number of kernels (4 in the paper).
        reduction (int): Reduction ratio of the attention's first FC (4 in the paper).
        temperature (float): Softmax temperature. Training anneals it 30 -> 1
            (``lwmm.DynamicConvTemperatureHook``); the default 1.0 is the value after annealing.

    Shapes:
        input (B, C_in, H, W) -> output (B, C_out, H', W') with H', W' as ``nn.Conv2d``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: Union[int, Sequence[int]],
                 stride: Union[int, Sequence[int]] = 1,
                 padding: Union[int, Sequence[int]] = 0,
                 dilation: Union[int, Sequence[int]] = 1,
                 groups: int = 1,
                 bias: bool = True,
                 K: int = 4,
                 reduction: int = 4,
                 temperature: float = 1.0):
        super().__init__()
        check_int('DynamicConv2d', 'in_channels', in_channels)
        check_int('DynamicConv2d', 'out_channels', out_channels)
        check_int('DynamicConv2d', 'K', K, hint='the paper uses 4')
        if not is_int(groups) or groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f'DynamicConv2d: groups={groups!r} must be a positive int dividing in_channels '
                             f'({in_channels}) and out_channels ({out_channels}).')
        check_int('DynamicConv2d', 'reduction', reduction, hint='the paper uses 4')
        for arg, value, minimum in (('kernel_size', kernel_size, 1), ('stride', stride, 1),
                                    ('padding', padding, 0), ('dilation', dilation, 1)):
            for item in _pair(value):
                check_int('DynamicConv2d', arg, item, minimum=minimum)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.groups = groups
        # read by mmcv's ConvModule, which can build this layer from conv_cfg=dict(type='lwmm.DynamicConv2d')
        self.transposed = False
        self.output_padding = (0, 0)
        self.num_kernels = K
        self.attention = KernelAttention(in_channels, K, reduction)
        self.temperature = temperature
        self.weight = nn.Parameter(torch.empty(K, out_channels, in_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(K, out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw one kernel (and bias) as ``nn.Conv2d`` initialises its kernel and start all K as copies of it.

        The paper does not state how the K kernels start. Copies make the layer equal a static conv at any
        attention, and the attention, which differs per sample, sets the kernels apart as they train.
        Independently drawn kernels did not train on this project's data (docs/dynamic_conv.md, "Kernel
        initialisation": DY-MobileNetV2 on Fashion-MNIST 21.8-55.8 % top-1 over three seeds, the shapes
        demo 50 %), copies did.
        """
        nn.init.kaiming_uniform_(self.weight[0], a=math.sqrt(5))
        with torch.no_grad():
            self.weight[1:] = self.weight[:1]
            if self.bias is not None:
                bound = 1 / math.sqrt(self.weight[0, 0].numel())
                nn.init.uniform_(self.bias[0], -bound, bound)
                self.bias[1:] = self.bias[:1]

    def init_weights(self) -> None:
        """Called by mmcv's ConvModule and mmengine instead of their conv initialisers, whose fan-in
        rules do not know the K dimension."""
        self.reset_parameters()

    @property
    def temperature(self) -> float:
        return self.attention.temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        check_range('DynamicConv2d', 'temperature', value, 0, low_inclusive=False, hint='1 after annealing')
        self.attention.temperature = float(value)

    def aggregate(self, attention: torch.Tensor):
        """(B, K) attention -> per-sample kernels (B * C_out, C_in // groups, kh, kw) and biases (B * C_out)."""
        batch = attention.shape[0]
        weight = torch.matmul(attention, self.weight.flatten(1))
        weight = weight.reshape(batch * self.out_channels, *self.weight.shape[2:])
        bias = None if self.bias is None else torch.matmul(attention, self.bias).flatten()
        return weight, bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        batch, channels, height, width = x.shape
        weight, bias = self.aggregate(self.attention(x))
        out = F.conv2d(x.reshape(1, batch * channels, height, width), weight, bias, self.stride, self.padding,
                       self.dilation, self.groups * batch)
        return out.reshape(batch, self.out_channels, *out.shape[2:])

    def _check_input(self, x: torch.Tensor) -> None:
        check_input('DynamicConv2d', x, self.in_channels)
        if torch.jit.is_tracing():
            return
        needed = [d * (k - 1) + 1 - 2 * p for k, p, d in zip(self.kernel_size, self.padding, self.dilation)]
        if x.shape[2] < needed[0] or x.shape[3] < needed[1]:
            raise ValueError(f'DynamicConv2d: input of size {x.shape[2]}x{x.shape[3]} is too small for the '
                             f'{self.kernel_size[0]}x{self.kernel_size[1]} kernel with padding {self.padding} and '
                             f'dilation {self.dilation}: it needs at least {needed[0]}x{needed[1]}; pad the '
                             f'input or use padding=dilation * (kernel_size - 1) // 2.')

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Also accept a static conv's weight (and bias): each of the K kernels becomes a copy, so the layer
        computes that conv at any attention (the DY networks' warm start from their static twin); the
        attention keeps its initialisation."""
        for name, param in (('weight', self.weight), ('bias', self.bias)):
            value = state_dict.get(prefix + name)
            if param is not None and isinstance(value, torch.Tensor) and value.shape == param.shape[1:]:
                state_dict[prefix + name] = value.unsqueeze(0).expand_as(param)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, K: int = 4, reduction: int = 4, temperature: float = 1.0,
                  inherit_weights: bool = False) -> 'DynamicConv2d':
        """A dynamic conv of ``conv``'s shape; ``inherit_weights`` copies its kernel into all K kernels.

        With identical kernels the output equals ``conv``'s for any attention, which lets a static
        checkpoint start a dynamic fine-tune.
        """
        if conv.padding_mode != 'zeros' or isinstance(conv.padding, str):
            raise ValueError(f'DynamicConv2d.from_conv: padding={conv.padding!r}, padding_mode='
                             f'{conv.padding_mode!r} are not supported; use numeric zero padding.')
        dynamic = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                      conv.dilation, conv.groups, conv.bias is not None, K, reduction, temperature)
        dynamic.to(conv.weight.device, conv.weight.dtype)
        if inherit_weights:
            with torch.no_grad():
                dynamic.weight.copy_(conv.weight.unsqueeze(0).expand_as(dynamic.weight))
                if conv.bias is not None:
                    dynamic.bias.copy_(conv.bias.unsqueeze(0).expand_as(dynamic.bias))
        return dynamic

    def extra_repr(self) -> str:
        text = (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride={self.stride}, K={self.num_kernels}')
        if self.padding != (0, 0):
            text += f', padding={self.padding}'
        if self.dilation != (1, 1):
            text += f', dilation={self.dilation}'
        if self.groups != 1:
            text += f', groups={self.groups}'
        if self.bias is None:
            text += ', bias=False'
        return text


class ConversionRule:
    """Which ``nn.Conv2d`` layers of a network ``convert_to_dynamic`` makes dynamic.

    Convs are visited in module registration order (``named_modules``), which puts the stem first.

    Args:
        skip_first (int): Leave the first ``skip_first`` convs static (the paper keeps the stem, 1).
        depthwise (bool): Convert depthwise convs (groups == in_channels).
        pointwise (bool): Convert 1x1 convs.
        grouped (bool): Convert other grouped convs.
        exclude (Sequence[str]): Regexes (``re.search``) on module names to keep static.
        include (Sequence[str], optional): When given, only names matching one of these are converted.
        min_in_channels (int): Keep convs with fewer input channels static.
    """

    def __init__(self,
                 skip_first: int = 1,
                 depthwise: bool = True,
                 pointwise: bool = True,
                 grouped: bool = True,
                 exclude: Sequence[str] = (),
                 include: Optional[Sequence[str]] = None,
                 min_in_channels: int = 1):
        if not isinstance(skip_first, int) or skip_first < 0:
            raise ValueError(f'ConversionRule: skip_first={skip_first!r} must be an int >= 0.')
        if isinstance(exclude, str) or (include is not None and isinstance(include, str)):
            raise ValueError('ConversionRule: exclude and include take a list of regexes, not one string.')
        self.skip_first = skip_first
        self.depthwise = depthwise
        self.pointwise = pointwise
        self.grouped = grouped
        self.exclude = [re.compile(p) for p in exclude]
        self.include = None if include is None else [re.compile(p) for p in include]
        self.min_in_channels = min_in_channels

    def __call__(self, name: str, conv: nn.Conv2d, index: int) -> bool:
        if index < self.skip_first or conv.in_channels < self.min_in_channels:
            return False
        if conv.groups > 1:
            is_depthwise = conv.groups == conv.in_channels
            if (is_depthwise and not self.depthwise) or (not is_depthwise and not self.grouped):
                return False
        if conv.kernel_size == (1, 1) and not self.pointwise:
            return False
        if any(p.search(name) for p in self.exclude):
            return False
        return self.include is None or any(p.search(name) for p in self.include)


def convert_to_dynamic(module: nn.Module,
                       K: int = 4,
                       rule: Union[None, dict, ConversionRule, Callable[[str, nn.Conv2d, int], bool]] = None,
                       reduction: int = 4,
                       temperature: float = 1.0,
                       inherit_weights: bool = False) -> nn.Module:
    """Replace, in place, the ``nn.Conv2d`` layers of ``module`` that ``rule`` selects by ``DynamicConv2d``.

    Args:
        module: Any network (an lwmm, mmpretrain, mmdet or torchvision backbone).
        K, reduction, temperature: Passed to every ``DynamicConv2d``.
        rule: A ``ConversionRule``, its keyword arguments as a dict, or a callable
            ``(name, conv, index) -> bool`` (index counts the ``nn.Conv2d`` layers in order). None: the
            paper's rule, every conv except the first.
        inherit_weights: Copy each static kernel into all K kernels (see ``DynamicConv2d.from_conv``).

    Returns:
        ``module`` itself, with ``module.dynamic_conv_names`` listing the converted layers.
    """
    if rule is None:
        rule = ConversionRule()
    elif isinstance(rule, dict):
        rule = ConversionRule(**rule)
    elif not callable(rule):
        raise ValueError(f'convert_to_dynamic: rule={rule!r} must be None, a dict of ConversionRule '
                         f'arguments, a ConversionRule or a callable (name, conv, index) -> bool.')
    convs = [(name, m) for name, m in module.named_modules() if isinstance(m, nn.Conv2d)]
    chosen = [name for index, (name, conv) in enumerate(convs) if rule(name, conv, index)]
    for name in chosen:
        parent_name, _, child = name.rpartition('.')
        parent = module.get_submodule(parent_name) if parent_name else module
        dynamic = DynamicConv2d.from_conv(getattr(parent, child), K, reduction, temperature, inherit_weights)
        setattr(parent, child, dynamic)
    module.dynamic_conv_names = chosen
    return module


def draw_kernels_apart(module: nn.Module, generator: Optional[torch.Generator] = None) -> nn.Module:
    """Redraw, in place, the K kernels and biases of every ``DynamicConv2d`` in ``module`` independently, each
    from the distribution ``nn.Conv2d`` draws its one kernel from (uniform in +-1/sqrt(fan_in)).

    A built layer starts its kernels as copies, so its output does not depend on the attention; checks of the
    attention's per-sample mixing (exports, folding, batch-1 forms, tests) need kernels that differ. Draws from
    ``generator`` when given, so the global random state is left as it was. Returns ``module``.
    """
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, DynamicConv2d):
                bound = 1 / math.sqrt(layer.weight[0, 0].numel())
                for param in (layer.weight, layer.bias):
                    if param is not None:
                        drawn = torch.empty(param.shape, dtype=param.dtype).uniform_(-bound, bound, generator=generator)
                        param.copy_(drawn)
    return module
