"""lwmm's one conv -> norm -> activation block: mmcv's ``ConvModule`` with a straight-line forward."""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer

#: activations whose constructor takes no ``inplace`` (the others are built in place, as ConvModule does)
_NO_INPLACE = ('Tanh', 'PReLU', 'Sigmoid', 'HSigmoid', 'Swish', 'GELU')


def build_inplace_activation(act_cfg: dict) -> nn.Module:
    """The activation of ``act_cfg``, in place unless the config says otherwise or it has no such mode
    (ConvModule's rule): for activations of a tensor the caller has just made, saving an allocation."""
    act_cfg = dict(act_cfg)
    if act_cfg['type'] not in _NO_INPLACE:
        act_cfg.setdefault('inplace', True)
    return build_activation_layer(act_cfg)


class ConvNormAct(ConvModule):
    """mmcv's ``ConvModule`` (same arguments, children ``conv`` / ``bn`` or ``gn``... / ``activate``, weight
    init and BN folding by ``lwmm.deploy.fuse_conv_bn``), whose forward calls those children in turn.

    Every conv-norm-act in lwmm's blocks and backbones is this class (docs/conv_norm_act.md). Only the
    forward differs from ConvModule's: its loop over ``order`` with padding and efficient-BN checks costs
    several microseconds a call, which counts at batch 1 in networks of ~100 small convs (GhostNet: 80
    calls). Layouts that need that loop (another ``order``, explicit padding, efficient conv-BN eval)
    take ConvModule's own forward.
    """

    def turn_on_efficient_conv_bn_eval(self, efficient_conv_bn_eval: bool = True) -> None:
        super().turn_on_efficient_conv_bn_eval(efficient_conv_bn_eval)
        self._straight = (self.order == ('conv', 'norm', 'act') and not self.with_explicit_padding
                          and self.efficient_conv_bn_eval_forward is None)

    def forward(self, x: torch.Tensor, activate: bool = True, norm: bool = True) -> torch.Tensor:
        if not self._straight:
            return super().forward(x, activate, norm)
        modules = self._modules  # children by key: nn.Module.__getattr__ would cost a call each
        x = modules['conv'](x)
        if norm and self.with_norm:
            x = modules[self.norm_name](x)
        if activate and self.with_activation:
            x = modules['activate'](x)
        return x
