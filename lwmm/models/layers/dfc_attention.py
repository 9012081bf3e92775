"""DFC attention, the decoupled fully connected gate of GhostNetV2 (Tang et al., NeurIPS 2022)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .conv_norm_act import ConvNormAct
from .validation import check_input, check_int, check_odd


class DFCAttention(nn.Module):
    """Long-range gate computed cheaply on a half-resolution copy of the input.

    A fully connected layer over the whole map is decoupled into a horizontal and a vertical one, each a
    depthwise conv with a long kernel (1xk then kx1). To save more, the gate is computed after a 2x2
    average pool and brought back with a nearest upsample to the exact size of the gated features, so
    maps of any size (odd ones included) are gated. A side of length 1 is not pooled.

    ``forward(x, size)`` takes the input of the Ghost module, shape (N, C_in, H, W), and returns the gate,
    shape (N, C_out, *size), values in (0, 1), which the caller multiplies with its output.

    Args:
        in_channels (int): Channels of the input (the Ghost module's input).
        out_channels (int): Channels of the gate (the Ghost module's output).
        kernel_size (int): Length of the horizontal and vertical kernels (5 in the paper).
        norm_cfg (dict): Norm after each of the three convs (none has an activation).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 5,
                 norm_cfg: dict = dict(type='BN')):
        super().__init__()
        check_int('DFCAttention', 'in_channels', in_channels)
        check_int('DFCAttention', 'out_channels', out_channels)
        check_odd('DFCAttention', 'kernel_size', kernel_size, hint='5 in the paper')
        self.in_channels = in_channels
        half = kernel_size // 2
        self.proj = ConvNormAct(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.horizontal = ConvNormAct(
            out_channels, out_channels, (1, kernel_size), padding=(0, half), groups=out_channels,
            norm_cfg=norm_cfg, act_cfg=None)
        self.vertical = ConvNormAct(
            out_channels, out_channels, (kernel_size, 1), padding=(half, 0), groups=out_channels,
            norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: torch.Tensor, size) -> torch.Tensor:
        check_input('DFCAttention', x, self.in_channels)
        # A side of 1 (tiny inputs deep in the network) cannot be halved: keep it rather than fail.
        window = (min(2, x.shape[-2]), min(2, x.shape[-1]))
        gate = F.avg_pool2d(x, kernel_size=window, stride=window)
        gate = self.vertical(self.horizontal(self.proj(gate)))
        return F.interpolate(torch.sigmoid(gate), size=tuple(size), mode='nearest')
