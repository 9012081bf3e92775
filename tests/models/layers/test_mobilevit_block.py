import re

import pytest
import timm
import torch
import torch.nn as nn
import torch.nn.functional as F

from lwmm.models.layers.mobilevit_block import MobileViTBlock, MultiheadSelfAttention, TransformerLayer


def _randomise_bn(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


_TIMM_TO_LWMM = [
    (r'^conv_kxk\.', 'conv_local.'), (r'^conv_1x1\.', 'conv_in.'), (r'^conv_proj\.', 'conv_out.'),
    (r'\.mlp\.fc1\.', '.ffn.0.'), (r'\.mlp\.fc2\.', '.ffn.3.'),
]


@pytest.fixture(scope='module')
def timm_and_lwmm_blocks():
    """timm's MobileViT-XXS stride-8 block (48 channels, d 64, 2 layers) and the same lwmm block."""
    torch.manual_seed(0)
    reference = timm.create_model('mobilevit_xxs').stages[2][1]
    _randomise_bn(reference)
    reference.eval()
    block = MobileViTBlock(48, 64, 128, num_layers=2, num_heads=4, patch_size=2).eval()
    state = {}
    for key, value in reference.state_dict().items():
        for pattern, repl in _TIMM_TO_LWMM:
            key = re.sub(pattern, repl, key)
        state[key] = value
    block.load_state_dict(state, strict=True)
    return reference, block


@pytest.mark.parametrize('size', [(16, 16), (7, 9), (5, 4), (1, 1)])
def test_matches_timm_block(timm_and_lwmm_blocks, size):
    """Same output as timm's block, also where the patch does not divide the map (bilinear resize)."""
    reference, block = timm_and_lwmm_blocks
    torch.manual_seed(1)
    x = torch.randn(2, 48, *size)
    with torch.no_grad():
        expected, out = reference(x), block(x)
    assert out.shape == x.shape
    assert expected.std() > 0.1
    assert (out - expected).abs().max().item() <= 1e-5


def test_unfold_groups_pixels_by_position_in_patch():
    block = MobileViTBlock(4, 8, 16, num_layers=1, patch_size=2)
    x = torch.arange(2 * 8 * 4 * 6, dtype=torch.float).reshape(2, 8, 4, 6)
    tokens, grid = block.unfold(x)
    assert grid == (2, 3)
    assert tokens.shape == (2 * 4, 6, 8)  # (B * P, N, d)
    for b in range(2):
        for i in range(2):
            for j in range(2):
                sequence = tokens[b * 4 + i * 2 + j]
                for r in range(2):
                    for c in range(3):
                        assert torch.equal(sequence[r * 3 + c], x[b, :, 2 * r + i, 2 * c + j])
    assert torch.equal(block.fold(tokens, grid), x)


def test_fold_writes_channels_last_for_a_channels_last_input():
    """In a channels_last network the fold lands in NHWC memory (one copy), with the same values."""
    block = MobileViTBlock(4, 8, 16, num_layers=1, patch_size=2)
    x = torch.randn(2, 8, 4, 6)
    tokens, grid = block.unfold(x.contiguous(memory_format=torch.channels_last))
    folded = block.fold(tokens, grid, channels_last=True)
    assert folded.is_contiguous(memory_format=torch.channels_last) and not folded.is_contiguous()
    assert torch.equal(folded, x)
    assert block.fold(tokens, grid).is_contiguous()

    seen = []
    block.conv_out.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    block(torch.randn(2, 4, 8, 12).contiguous(memory_format=torch.channels_last))
    block(torch.randn(2, 4, 8, 12))
    assert seen[0].is_contiguous(memory_format=torch.channels_last) and not seen[0].is_contiguous()
    assert seen[1].is_contiguous()


def test_attention_runs_across_patches_per_position():
    """Changing one pixel changes the global representation only at the same position of other patches."""
    torch.manual_seed(0)
    block = MobileViTBlock(4, 8, 16, num_layers=1, patch_size=2).eval()
    x = torch.randn(1, 8, 6, 6)
    y = x.clone()
    y[:, :, 0, 0] += torch.randn(8)  # not a uniform shift, which LayerNorm would remove
    with torch.no_grad():
        run = lambda t: block.fold(block.norm(block.transformer(block.unfold(t)[0])), (3, 3))  # noqa: E731
        changed = (run(x) - run(y)).abs().sum(1)[0] > 1e-6
    expected = torch.zeros(6, 6, dtype=torch.bool)
    expected[0::2, 0::2] = True
    assert torch.equal(changed, expected)


def test_uses_scaled_dot_product_attention(monkeypatch):
    calls = []
    original = F.scaled_dot_product_attention

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(F, 'scaled_dot_product_attention', spy)
    block = MobileViTBlock(4, 8, 16, num_layers=3, num_heads=2, patch_size=2).eval()
    block(torch.randn(1, 4, 4, 6))
    assert calls == [torch.Size([4, 2, 6, 4])] * 3  # (B * P, heads, N, d / heads), once per layer


def test_dropout_only_in_training():
    torch.manual_seed(0)
    layer = TransformerLayer(8, 2, 16, drop_rate=0.5, attn_drop_rate=0.5, ffn_drop_rate=0.5)
    x = torch.randn(3, 5, 8)
    layer.train()
    assert not torch.allclose(layer(x), layer(x))
    layer.eval()
    assert torch.equal(layer(x), layer(x))


def test_backward_and_odd_sizes():
    block = MobileViTBlock(6, 12, 24, num_layers=1, patch_size=2)
    x = torch.randn(2, 6, 5, 7, requires_grad=True)
    block(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_dilation_only_on_local_conv():
    block = MobileViTBlock(4, 8, 16, num_layers=1, dilation=2)
    assert block.conv_local.conv.dilation == (2, 2) and block.conv_local.conv.padding == (2, 2)
    assert block.conv_fusion.conv.dilation == (1, 1)
    assert block(torch.randn(1, 4, 9, 9)).shape == (1, 4, 9, 9)


def test_invalid_arguments():
    with pytest.raises(ValueError, match='num_heads'):
        MultiheadSelfAttention(10, num_heads=4)
    with pytest.raises(ValueError, match='patch_size'):
        MobileViTBlock(4, 8, 16, patch_size=0)
