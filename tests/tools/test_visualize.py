"""tools/analysis/visualize.py and lwmm.analysis.visualize: each analysis on the shapes data, random-init
models from the demo configs, small images."""
import glob
import math
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
import torch.nn as nn

from lwmm.analysis import visualize as V

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PANEL_PIXELS = int(V.PANEL_INCHES * V.DPI)
_models = {}


def model_of(config):
    """Random-init model of a demo config, built once per session (the analyses only run it in eval)."""
    if config not in _models:
        from lwmm.analysis.inference import load_model
        torch.manual_seed(0)
        _models[config] = load_model(osp.join(ROOT, 'configs/demo', config))[0]
    return _models[config]


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis/visualize.py')


@pytest.fixture(scope='module')
def image(shapes_root):
    return sorted(glob.glob(osp.join(shapes_root, 'coco/val2017/*.jpg')))[0]


@pytest.fixture(scope='module')
def image_folder(shapes_root):
    return osp.join(shapes_root, 'imagenet/val/circle')


def check_png(path, rows, cols):
    picture = mmcv.imread(path)
    assert picture.shape[:2] == (rows * PANEL_PIXELS, cols * PANEL_PIXELS)
    assert picture.std() > 5  # not a blank canvas


# -- GhostNet ------------------------------------------------------------------------------------------------
def test_ghost_maps_png_through_the_tool(tool, image, tmp_path):
    out = str(tmp_path / 'ghost.png')
    result = tool.main(['ghost', osp.join(ROOT, 'configs/demo/ssdlite_ghostnetv2_shapes.py'), '--image',
                        image, '--out', out, '--size', '64', '--num-maps', '3',
                        '--layer', 'backbone.stages.2.0.ghost1'])
    assert result['layer'] == 'stages.2.0.ghost1'
    check_png(out, rows=2, cols=4)  # intrinsic row + one ghost row (ratio 2); input + 3 maps
    assert len(result['correlations']) == 3 and all(-1 <= r <= 1 for r in result['correlations'])  # one per map


def test_ghost_maps_pair_each_ghost_with_its_intrinsic_map(image, tmp_path):
    """With an identity cheap operation every ghost map equals its intrinsic map (r = 1): checks that
    ghost channel j is paired with intrinsic channel j // (ratio - 1)."""
    from lwmm.models.layers.ghost import GhostModule
    torch.manual_seed(0)
    network = nn.Sequential(GhostModule(3, 9, ratio=3)).eval()
    cheap = network[0].cheap
    with torch.no_grad():
        cheap.conv.weight.zero_()
        cheap.conv.weight[:, :, 1, 1] = 1
        cheap.bn.eps = 0.0
    result = V.ghost_maps(network, image, str(tmp_path / 'identity.png'), num_maps=3, size=(32, 32))
    check_png(str(tmp_path / 'identity.png'), rows=3, cols=4)
    non_constant = [r for r in result['correlations'] if r != 0.0]
    assert len(non_constant) >= 4 and np.allclose(non_constant, 1.0, atol=1e-4)


def test_wrong_family_lists_what_the_model_has(image, tmp_path):
    with pytest.raises(ValueError, match=r"'ghost' analysis .* MobileViT has none; .*mobilevit \(\d+ layers\)"):
        V.ghost_maps(model_of('mobilevit-xxs_shapes.py'), image, str(tmp_path / 'x.png'))
    with pytest.raises(ValueError, match='stages.1.1.ghost1.dfc'):  # an unknown layer lists the real ones
        V.dfc_attention(model_of('ssdlite_ghostnetv2_shapes.py'), image, str(tmp_path / 'x.png'),
                        layers=['stages.9.ghost1.dfc'])
    with pytest.raises(ValueError, match='one file'):
        V.ghost_maps(model_of('ssdlite_ghostnetv2_shapes.py'), osp.dirname(image), str(tmp_path / 'x.png'))


# -- GhostNetV2 ----------------------------------------------------------------------------------------------
def test_dfc_attention_overlay(image, tmp_path):
    out = str(tmp_path / 'dfc.png')
    layers = ['stages.1.1.ghost1.dfc', 'backbone.stages.4.0.ghost1.dfc']
    result = V.dfc_attention(model_of('ssdlite_ghostnetv2_shapes.py'), image, out, layers=layers, size=(64, 64))
    check_png(out, rows=1, cols=3)
    assert list(result['layers']) == ['stages.1.1.ghost1.dfc', 'stages.4.0.ghost1.dfc']
    for stats in result['layers'].values():  # a sigmoid gate
        assert 0 < stats['min'] <= stats['mean'] <= stats['max'] < 1
    assert result['layers']['stages.1.1.ghost1.dfc']['shape'] == (16, 16)  # stride 4 on 64 px


# -- OctConv -------------------------------------------------------------------------------------------------
def test_energy_share_uses_high_resolution_pixels():
    """A cosine of 0.05 cycles per high-res pixel sits below a 0.125 cut-off and one of 0.3 above; on the
    half-resolution low map the same 0.05 is 0.1 cycles per low pixel and still counts as below."""
    size = 40
    grid = np.arange(size)
    for frequency, pixel, below in ((0.05, 1.0, True), (0.3, 1.0, False), (0.1, 2.0, True)):
        wave = torch.tensor(np.cos(2 * np.pi * frequency * grid)[None, None, :].repeat(size, axis=1))
        _, power = V.spectrum(wave)
        share = V.energy_below(power, V.radial_frequency(size, size, pixel), 0.125)
        assert share == pytest.approx(1.0 if below else 0.0, abs=0.01)  # the Hann window's side lobes
    _, power = V.spectrum(torch.rand(1, 6, 6))  # 1/6 cycles per pixel is the lowest non-DC frequency
    assert math.isnan(V.energy_below(power, V.radial_frequency(6, 6), 0.125))


def test_octave_spectra_png(image_folder, tmp_path):
    out = str(tmp_path / 'octave.png')
    model = model_of('oct-mobilenetv2_shapes.py')
    layers = V.find_layers(V.get_backbone(model), 'octave')[:2]
    result = V.octave_spectra(model, image_folder, out, layers=layers, size=(32, 32), max_images=2)
    check_png(out, rows=2, cols=2)
    assert result['images'] == 2
    for parts in result['layers'].values():
        high, low = parts['high'], parts['low']
        assert low['size'] == tuple(math.ceil(s / 2) for s in high['size'])
        for part, pixel in ((high, 1), (low, 2)):  # the low map's pixels are two high-map pixels wide
            # NaN says "too small to tell": no frequency but DC below the cut-off (1 / (pixel * longest side))
            too_small = 1 / (pixel * max(part['size'])) >= 0.125
            share = part['energy_below_cutoff']
            assert math.isnan(share) == too_small and (too_small or 0 <= share <= 1), (part, pixel)
    first = result['layers'][layers[0]]
    assert first['high']['size'] == (16, 16) and 0 < first['high']['energy_below_cutoff'] < 1  # stride 2
    with pytest.raises(ValueError, match='cutoff=0.7'):
        V.octave_spectra(model, image_folder, out, cutoff=0.7)


# -- Dynamic convolution -------------------------------------------------------------------------------------
def test_dynamic_attention_statistics_and_png(image_folder, tmp_path, fix_attention):
    model = model_of('dy-mobilenetv2-1.0x_shapes.py')
    names = V.find_layers(V.get_backbone(model), 'dynamic')
    forced = torch.tensor([0.7, 0.1, 0.1, 0.1])
    fix_attention(V.get_backbone(model).get_submodule(names[0]), forced)  # a known attention for one layer
    out = str(tmp_path / 'dynamic.png')
    result = V.dynamic_attention(model, image_folder, out, max_images=3, size=(32, 32))
    picture = mmcv.imread(out)
    width = max(6.0, 0.3 * len(names))
    assert picture.shape[:2] == (round(5.0 * V.DPI), round(width * V.DPI)) and picture.std() > 5
    first = result['layers'][names[0]]
    assert first['mean'] == pytest.approx(forced.tolist(), abs=1e-6) and max(first['std']) < 1e-6
    expected = -(forced * forced.log()).sum().item() / math.log(4)
    assert first['entropy'] == pytest.approx(expected, abs=1e-5)
    for stats in result['layers'].values():
        assert sum(stats['mean']) == pytest.approx(1.0, abs=1e-5) and 0 <= stats['entropy'] <= 1 + 1e-6


# -- MobileViT -----------------------------------------------------------------------------------------------
def test_patch_query_follows_unfold():
    """The sequence and token patch_query picks hold, after MobileViTBlock.unfold, the feature cell
    that contains the pixel."""
    from lwmm.models.layers.mobilevit_block import MobileViTBlock
    block = MobileViTBlock(8, 8, 16, num_layers=1, patch_size=2)
    height, width = 6, 8
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing='ij')
    coordinates = torch.stack([rows, cols]).float()[None]  # (1, 2, H, W): each cell holds (y, x)
    tokens, grid = block.unfold(coordinates)
    image_size = (48, 64)
    for x, y in ((0, 0), (13, 40), (63, 47), (31, 20)):
        sequence, token, patches = V.patch_query((x, y), image_size, (height, width), 2)
        assert patches == grid
        assert tokens[sequence, token].tolist() == [y * height // 48, x * width // 64]
    assert V.patch_query((10, 10), (40, 40), (5, 5), 2)[2] == (3, 3)  # 5 is resized up to 6
    with pytest.raises(ValueError, match='outside'):
        V.patch_query((64, 0), image_size, (height, width), 2)


def test_recomputed_attention_reproduces_the_layer():
    from lwmm.models.layers.mobilevit_block import MultiheadSelfAttention
    torch.manual_seed(0)
    attention = MultiheadSelfAttention(16, num_heads=4).eval()
    tokens = torch.randn(3, 9, 16)
    weights = V.attention_weights(attention, tokens)
    v = attention.qkv(tokens).reshape(3, 9, 3, 4, 4).permute(2, 0, 3, 1, 4)[2]
    rebuilt = attention.proj((weights @ v).transpose(1, 2).reshape(3, 9, 16))
    assert torch.allclose(rebuilt, attention(tokens), atol=1e-5)


def test_mobilevit_attention_png(image, tmp_path):
    out = str(tmp_path / 'mobilevit.png')
    result = V.mobilevit_attention(model_of('mobilevit-xxs_shapes.py'), image, out, layer='stages.3.1',
                                   pixel=(40, 10), size=(64, 64))
    check_png(out, rows=1, cols=3)
    assert result['layer'] == 'stages.3.1.transformer.3'  # a block name means its last layer
    assert result['grid'] == (2, 2)  # stride 16 on 64 px, 2x2 patches
    assert result['weights'].sum() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match='has 4 heads'):
        V.mobilevit_attention(model_of('mobilevit-xxs_shapes.py'), image, out, head=7, size=(64, 64))


def test_layers_command_lists_each_analysis(tool, capsys):
    tool.main(['layers', osp.join(ROOT, 'configs/demo/ssdlite_ghostnetv2_shapes.py')])
    printed = capsys.readouterr().out
    assert 'ghost:' in printed and 'dfc:' in printed and 'stages.1.1.ghost1.dfc' in printed
    assert 'octave:' not in printed
