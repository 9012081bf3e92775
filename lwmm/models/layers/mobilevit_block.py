"""The MobileViT block (Mehta & Rastegari, "MobileViT: Light-weight, General-purpose, and Mobile-friendly
Vision Transformer", ICLR 2022): transformers as convolutions.
"""
import math
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .conv_norm_act import ConvNormAct
from .validation import check_divides, check_input, check_int, check_odd, check_range


class MultiheadSelfAttention(nn.Module):
    """Multi-head self-attention over ``(B, N, C)`` tokens with ``scaled_dot_product_attention``.

    Args:
        embed_dims (int): Token width ``C``; must be divisible by ``num_heads``.
        num_heads (int): Attention heads.
        attn_drop (float): Dropout on the attention weights (training only).
        proj_drop (float): Dropout after the output projection.
    """

    def __init__(self, embed_dims: int, num_heads: int = 4, attn_drop: float = 0., proj_drop: float = 0.):
        super().__init__()
        if num_heads < 1 or embed_dims % num_heads:
            raise ValueError(f'MultiheadSelfAttention: embed_dims={embed_dims} must be divisible by '
                             f'num_heads={num_heads}.')
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(embed_dims, embed_dims * 3)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, channels = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, channels // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        x = x.transpose(1, 2).reshape(batch, tokens, channels)
        return self.proj_drop(self.proj(x))


class TransformerLayer(nn.Module):
    """Pre-norm transformer encoder layer: ``x + MHSA(LN(x))``, then ``x + FFN(LN(x))``, SiLU FFN.

    Dropout follows the reference code: ``drop_rate`` after the attention projection and after the FFN,
    ``ffn_drop_rate`` between the two FFN linears.

    Args:
        embed_dims (int): Token width ``d``.
        num_heads (int): Attention heads.
        ffn_channels (int): Hidden width of the FFN (``2d`` in MobileViT).
        drop_rate (float): Dropout after attention and FFN.
        attn_drop_rate (float): Dropout on the attention weights.
        ffn_drop_rate (float): Dropout inside the FFN.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 ffn_channels: int,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 ffn_drop_rate: float = 0.):
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dims)
        self.attn = MultiheadSelfAttention(embed_dims, num_heads, attn_drop_rate, drop_rate)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, ffn_channels), nn.SiLU(), nn.Dropout(ffn_drop_rate),
            nn.Linear(ffn_channels, embed_dims), nn.Dropout(drop_rate))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class MobileViTBlock(nn.Module):
    """MobileViT block: local representation by convolution, global representation by transformers.

    Following Fig. 1b of the paper, top to bottom:

    1. local representation: ``n x n`` conv-BN-act, then a linear 1x1 conv to the transformer width ``d``;
    2. unfold into non-overlapping ``h x w`` patches; the pixels at the same position of every patch
       form one sequence of ``N = HW / hw`` tokens, so there are ``P = hw`` sequences per image and
       attention runs across patches, separately for each pixel position;
    3. ``L`` transformer layers and a LayerNorm (global representation);
    4. fold back, 1x1 conv-BN-act to ``C`` channels, concatenate with the block input, ``n x n``
       conv-BN-act fusion.

    A feature map that the patch does not divide is resized bilinearly up to the next multiple and back
    after folding, as the reference code (ml-cvnets) and timm do.

    Args:
        in_channels (int): Input (and output) channels ``C``.
        transformer_dim (int): Token width ``d``.
        ffn_channels (int): FFN hidden width (``2d`` in the paper).
        num_layers (int): Transformer layers ``L``.
        num_heads (int): Attention heads (4 in the released models).
        patch_size (int): Patch height and width (2 in the released models).
        kernel_size (int): ``n`` of the local and fusion convs.
        dilation (int): Dilation of the local conv (dense prediction); the fusion conv stays undilated,
            as in the reference DeepLabV3 models.
        drop_rate, attn_drop_rate, ffn_drop_rate (float): Transformer dropouts (see ``TransformerLayer``).
        norm_cfg (dict): Norm of the convs.
        act_cfg (dict): Activation of the convs (SiLU in the paper).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self,
                 in_channels: int,
                 transformer_dim: int,
                 ffn_channels: int,
                 num_layers: int = 2,
                 num_heads: int = 4,
                 patch_size: int = 2,
                 kernel_size: int = 3,
                 dilation: int = 1,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 ffn_drop_rate: float = 0.,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU')):
        super().__init__()
        owner = 'MobileViTBlock'
        for arg, value in (('in_channels', in_channels), ('transformer_dim', transformer_dim),
                           ('ffn_channels', ffn_channels), ('num_layers', num_layers), ('dilation', dilation)):
            check_int(owner, arg, value)
        check_divides(owner, 'num_heads', num_heads, 'transformer_dim', transformer_dim)
        check_int(owner, 'patch_size', patch_size, hint='2 in the released models')
        check_odd(owner, 'kernel_size', kernel_size)
        for arg, value in (('drop_rate', drop_rate), ('attn_drop_rate', attn_drop_rate),
                           ('ffn_drop_rate', ffn_drop_rate)):
            check_range(owner, arg, value, 0, 1)
        self.patch_size = patch_size
        self.in_channels = in_channels
        self.conv_local = ConvNormAct(
            in_channels, in_channels, kernel_size, padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv_in = nn.Conv2d(in_channels, transformer_dim, 1, bias=False)
        self.transformer = nn.Sequential(*[
            TransformerLayer(transformer_dim, num_heads, ffn_channels, drop_rate, attn_drop_rate,
                             ffn_drop_rate) for _ in range(num_layers)
        ])
        self.norm = nn.LayerNorm(transformer_dim)
        self.conv_out = ConvNormAct(transformer_dim, in_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv_fusion = ConvNormAct(
            2 * in_channels, in_channels, kernel_size, padding=(kernel_size - 1) // 2, norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def unfold(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """``(B, d, H, W) -> (B * P, N, d)``, P pixels per patch, N patches (row-major both)."""
        batch, channels, height, width = x.shape
        p = self.patch_size
        rows, cols = height // p, width // p
        x = x.reshape(batch, channels, rows, p, cols, p).permute(0, 3, 5, 2, 4, 1)
        return x.reshape(batch * p * p, rows * cols, channels), (rows, cols)

    def fold(self, x: torch.Tensor, grid: Tuple[int, int], channels_last: bool = False) -> torch.Tensor:
        """Inverse of ``unfold``: ``(B * P, N, d) -> (B, d, H, W)``, in ``channels_last`` memory if asked.

        Writing the fold straight into the layout the next conv reads makes it one copy; a contiguous
        result in a channels_last network would be copied again by that conv (forward and backward).
        """
        p = self.patch_size
        rows, cols = grid
        channels = x.shape[-1]
        x = x.reshape(-1, p, p, rows, cols, channels)
        if channels_last:
            x = x.permute(0, 3, 1, 4, 2, 5).reshape(-1, rows * p, cols * p, channels)
            return x.permute(0, 3, 1, 2)
        return x.permute(0, 5, 3, 1, 4, 2).reshape(-1, channels, rows * p, cols * p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input('MobileViTBlock', x, self.in_channels)
        shortcut = x
        x = self.conv_in(self.conv_local(x))

        height, width = x.shape[-2:]
        p = self.patch_size
        size = (math.ceil(height / p) * p, math.ceil(width / p) * p)
        resized = size != (height, width)
        if resized:
            x = F.interpolate(x, size=size, mode='bilinear', align_corners=False)
        channels_last = not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
        tokens, grid = self.unfold(x)
        tokens = self.norm(self.transformer(tokens))
        x = self.fold(tokens, grid, channels_last)
        if resized:
            x = F.interpolate(x, size=(height, width), mode='bilinear', align_corners=False)

        x = self.conv_out(x)
        return self.conv_fusion(torch.cat((shortcut, x), dim=1))
