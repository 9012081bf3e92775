"""A conv -> norm -> activation block with the layout of mmcv's ``ConvModule`` and the cost of an
``nn.Sequential``."""
from typing import Optional, Tuple, Union

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from mmengine.model import constant_init, kaiming_init

#: activations whose constructor takes no ``inplace`` (the others are built in place, as ConvModule does)
_NO_INPLACE = ('Tanh', 'PReLU', 'Sigmoid', 'HSigmoid', 'Swish', 'GELU')


def build_inplace_activation(act_cfg: dict) -> nn.Module:
    """The activation of ``act_cfg``, in place unless the config says otherwise or it has no such mode
    (ConvModule's rule): for activations of a tensor the caller has just made, saving an allocation."""
    act_cfg = dict(act_cfg)
    if act_cfg['type'] not in _NO_INPLACE:
        act_cfg.setdefault('inplace', True)
    return build_activation_layer(act_cfg)


class ConvNormAct(nn.Sequential):
    """Conv, optional norm, optional activation, run as a plain ``nn.Sequential``.

    Built from the same arguments as mmcv's ``ConvModule`` (conv-norm-act order only) and with the same
    children: ``conv``, the norm under the name ``build_norm_layer`` gives it (``bn`` for BN, ``gn`` for
    GN...) and ``activate``, so state dicts, timm converters and hooks on ``.conv`` / ``.bn`` are unchanged;
    the conv has a bias only without a norm, activations are in place where they can be, and the conv and
    norm are initialised as ConvModule does. What it saves is ConvModule's per-call dispatch (its loop over
    ``order`` and its padding / efficient-BN checks: about 9 us a call on a small input, and GhostNet 1.0x
    makes 80 such calls per forward, GhostNetV2 122), which counts at batch 1.

    ``lwmm.deploy.fuse_conv_bn`` folds the norm into the conv and removes it from the sequence.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups: the conv's.
        conv_cfg (dict, optional): Conv layer for mmcv's ``build_conv_layer``; None for ``nn.Conv2d``.
        norm_cfg (dict, optional): Norm layer; None for none.
        act_cfg (dict, optional): Activation; None for none.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: Union[int, Tuple[int, int]],
                 stride: Union[int, Tuple[int, int]] = 1,
                 padding: Union[int, Tuple[int, int]] = 0,
                 dilation: Union[int, Tuple[int, int]] = 1,
                 groups: int = 1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU')):
        super().__init__()
        self.add_module(
            'conv',
            build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                             dilation=dilation, groups=groups, bias=norm_cfg is None))
        self.norm_name = None
        if norm_cfg is not None:
            self.norm_name, norm = build_norm_layer(norm_cfg, out_channels)
            self.add_module(self.norm_name, norm)
        if act_cfg is not None:
            self.add_module('activate', build_inplace_activation(act_cfg))
        self._init_like_conv_module(act_cfg)

    def _init_like_conv_module(self, act_cfg: Optional[dict]) -> None:
        # Same start as ConvModule (He init for the following (leaky) ReLU, norm at identity) so that a
        # model built without an init_cfg behaves as before; convs with their own init keep it.
        if not hasattr(self.conv, 'init_weights'):
            leaky = act_cfg is not None and act_cfg['type'] == 'LeakyReLU'
            kaiming_init(self.conv, a=act_cfg.get('negative_slope', 0.01) if leaky else 0,
                         nonlinearity='leaky_relu' if leaky else 'relu')
        if self.norm is not None:
            constant_init(self.norm, 1, bias=0)

    @property
    def norm(self) -> Optional[nn.Module]:
        """The norm layer, None when there is none (or it was folded into the conv)."""
        return self._modules.get(self.norm_name) if self.norm_name else None

    @property
    def with_norm(self) -> bool:
        return self.norm is not None

    @property
    def with_activation(self) -> bool:
        return 'activate' in self._modules
