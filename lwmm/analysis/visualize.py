"""The seed papers' visual analyses for any lwmm model, each as a PNG (``tools/analysis/visualize.py``).

- :func:`ghost_maps`: GhostNet (Han et al., CVPR 2020, Fig. 1 / Fig. 4): the intrinsic maps of a Ghost
  module beside the ghost maps its cheap depthwise conv makes from each, with their correlation.
- :func:`dfc_attention`: GhostNetV2 (Tang et al., NeurIPS 2022, Fig. 5): the DFC attention gate of chosen
  layers, averaged over channels, upsampled and laid over the input image.
- :func:`octave_spectra`: OctConv (Chen et al., ICCV 2019, Sec. 3.1): the average 2-D amplitude spectrum of
  the high- and low-frequency outputs of chosen layers over a set of images, with the share of energy
  below a cut-off frequency.
- :func:`dynamic_attention`: Dynamic Convolution (Chen et al., CVPR 2020, Sec. 5.1's analysis of the
  kernel attention): per layer, the attention over the K kernels across images (mean and spread) and its
  entropy.
- :func:`mobilevit_attention`: MobileViT (Mehta & Rastegari, ICLR 2022): the attention weights of one
  transformer layer for one query pixel, over the image.

Every analysis reads the network through forward hooks on the layers' own modules (no model code is
changed), works on the backbone of a classifier, detector or segmentor (``model.backbone``), and names
layers by their module path inside the backbone (``stages.2.0.ghost1``; a ``backbone.`` prefix is
accepted). Each returns a dict of the numbers it drew (also printed by the tool) and writes one PNG whose
size is its grid of panels times ``panel`` inches times ``dpi`` (no tight bounding box, so the size is
known in advance).
"""
import math
import os
import os.path as osp
import re
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .inference import list_images, read_image

PANEL_INCHES = 2.0
DPI = 80


# -- the layers each analysis reads ------------------------------------------------------------------------
def _layer_types():
    from lwmm.models.layers.dfc_attention import DFCAttention
    from lwmm.models.layers.dynamic_conv import KernelAttention
    from lwmm.models.layers.ghost import GhostModule
    from lwmm.models.layers.mobilevit_block import TransformerLayer
    from lwmm.models.layers.octave_conv import OctaveConv2d
    return dict(ghost=GhostModule, dfc=DFCAttention, octave=OctaveConv2d, dynamic=KernelAttention,
                mobilevit=TransformerLayer)


LAYER_KINDS = {
    'ghost': 'Ghost modules (GhostNet / GhostNetV2)',
    'dfc': 'DFC attention gates (GhostNetV2)',
    'octave': 'octave convolutions (OctResNet / OctMobileNetV2)',
    'dynamic': 'dynamic convolutions (DY-MobileNetV2/V3, DY-ResNet, DynamicConvBackbone)',
    'mobilevit': 'MobileViT transformer layers',
}


def get_backbone(model: nn.Module) -> nn.Module:
    """``model.backbone`` for a classifier, detector or segmentor; the model itself for a bare backbone."""
    return getattr(model, 'backbone', model)


def find_layers(backbone: nn.Module, kind: str) -> List[str]:
    """Names (inside the backbone) of the modules the analysis ``kind`` reads, in forward order."""
    if kind not in LAYER_KINDS:
        raise ValueError(f'analysis {kind!r} is not known; choose one of {sorted(LAYER_KINDS)}.')
    layer_type = _layer_types()[kind]
    names = [name for name, module in backbone.named_modules() if isinstance(module, layer_type)]
    if kind == 'octave':  # a conv with alpha_out = 0 outputs one tensor: nothing to compare
        names = [name for name in names if backbone.get_submodule(name).out_l > 0]
    return names


def available_analyses(backbone: nn.Module) -> Dict[str, int]:
    """How many layers each analysis finds in ``backbone`` (only analyses that find some)."""
    found = {kind: len(find_layers(backbone, kind)) for kind in LAYER_KINDS}
    return {kind: count for kind, count in found.items() if count}


def _require_layers(backbone: nn.Module, kind: str) -> List[str]:
    names = find_layers(backbone, kind)
    if not names:
        available = available_analyses(backbone)
        has = ', '.join(f'{k} ({n} layers)' for k, n in available.items()) or 'none of them'
        raise ValueError(f'the {kind!r} analysis reads {LAYER_KINDS[kind]}, but the backbone '
                         f'{type(backbone).__name__} has none; the analyses this model supports: {has}.')
    return names


def _select(backbone: nn.Module, kind: str, requested: Optional[Sequence[str]], default) -> List[str]:
    """Check requested layer names (a ``backbone.`` prefix allowed) against the layers of ``kind``."""
    names = _require_layers(backbone, kind)
    if not requested:
        return default(names)
    chosen = []
    for name in requested:
        name = name[len('backbone.'):] if name.startswith('backbone.') else name
        if name not in names:
            raise ValueError(f'layer {name!r} is not one of the {len(names)} {LAYER_KINDS[kind]} of '
                             f'{type(backbone).__name__}; choose among: {", ".join(names)}.')
        chosen.append(name)
    return chosen


@contextmanager
def _hooks(modules_and_fns, pre: bool = False):
    handles = []
    try:
        for module, fn in modules_and_fns:
            register = module.register_forward_pre_hook if pre else module.register_forward_hook
            handles.append(register(fn))
        yield
    finally:
        for handle in handles:
            handle.remove()


# -- images in, tensors out ---------------------------------------------------------------------------------
def prepare_image(model: nn.Module, path: str, size: Optional[Tuple[int, int]] = None):
    """``(batch, rgb)``: the image normalised by the model's own data preprocessor, shape (1, 3, H, W), and
    the RGB uint8 picture of the same size to draw on. ``size`` is (H, W) to resize to first."""
    import mmcv
    bgr = read_image(path)
    if size is not None and tuple(bgr.shape[:2]) != tuple(size):
        bgr = mmcv.imresize(bgr, (size[1], size[0]))
    tensor = torch.from_numpy(np.ascontiguousarray(bgr)).permute(2, 0, 1)
    preprocessor = getattr(model, 'data_preprocessor', None)
    if preprocessor is None:
        batch = tensor[None].float()
    else:
        batch = preprocessor(dict(inputs=[tensor], data_samples=None), False)['inputs']
    return batch[..., :bgr.shape[0], :bgr.shape[1]], bgr[..., ::-1].copy()


def _image_set(path: str, max_images: int) -> List[str]:
    if max_images < 1:
        raise ValueError(f'max_images={max_images!r} must be a positive int.')
    return list_images(path)[:max_images]


def _single_image(path: str) -> str:
    if osp.isdir(path):
        raise ValueError(f'--image {path!r} is a folder; this analysis draws one image, pass one file.')
    return list_images(path)[0]


@torch.no_grad()
def _run_backbone(model: nn.Module, batch: torch.Tensor) -> None:
    get_backbone(model)(batch.to(next(model.parameters()).device))


# -- drawing -----------------------------------------------------------------------------------------------
def _figure(rows: int, cols: int, panel: float, dpi: int):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(rows, cols, figsize=(cols * panel, rows * panel), dpi=dpi, squeeze=False,
                             layout='constrained')
    return fig, axes


def _save(fig, out: str, dpi: int) -> str:
    import matplotlib.pyplot as plt
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def _normalised(map_2d: np.ndarray) -> np.ndarray:
    low, high = float(map_2d.min()), float(map_2d.max())
    return (map_2d - low) / (high - low) if high > low else np.zeros_like(map_2d)


def _upsample(map_2d: np.ndarray, size: Tuple[int, int], mode: str = 'bilinear') -> np.ndarray:
    tensor = torch.as_tensor(map_2d, dtype=torch.float32)[None, None]
    kwargs = dict(align_corners=False) if mode == 'bilinear' else {}
    return F.interpolate(tensor, size=size, mode=mode, **kwargs)[0, 0].numpy()


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


# -- GhostNet: intrinsic and ghost maps ---------------------------------------------------------------------
def ghost_maps(model: nn.Module, image: str, out: str, layer: Optional[str] = None, num_maps: int = 8,
               size=None, panel: float = PANEL_INCHES, dpi: int = DPI) -> dict:
    """Draw ``num_maps`` intrinsic maps of a Ghost module (row 1) above the ghost maps made from each.

    The Ghost module's ``primary`` conv outputs the intrinsic maps and its depthwise ``cheap`` conv makes
    ``ratio - 1`` ghost maps from each intrinsic map (ghost channel ``j`` comes from intrinsic
    ``j // (ratio - 1)``). The intrinsic maps shown are the ``num_maps`` with the largest spatial
    variance; each ghost panel's title gives its Pearson correlation with its intrinsic map. Column 0 is
    the input. Grid: ``ratio`` rows by ``num_maps + 1`` columns.

    Args:
        layer: Ghost module name (default: the first Ghost module of the middle of the network).
    """
    backbone = get_backbone(model)
    if num_maps < 1:
        raise ValueError(f'num_maps={num_maps!r} must be a positive int.')
    name = _select(backbone, 'ghost', [layer] if layer else None, lambda names: [names[len(names) // 2]])[0]
    module = backbone.get_submodule(name)
    image = _single_image(image)
    batch, rgb = prepare_image(model, image, size)
    captured = {}
    with _hooks([(module.primary, lambda m, i, o: captured.__setitem__('intrinsic', o[0].float().cpu())),
                 (module.cheap, lambda m, i, o: captured.__setitem__('ghost', o[0].float().cpu()))]):
        _run_backbone(model, batch)
    intrinsic, ghost = captured['intrinsic'].numpy(), captured['ghost'].numpy()
    per_intrinsic = ghost.shape[0] // intrinsic.shape[0]  # ratio - 1
    order = np.argsort(-intrinsic.reshape(intrinsic.shape[0], -1).var(axis=1))[:num_maps]
    fig, axes = _figure(per_intrinsic + 1, len(order) + 1, panel, dpi)
    for ax in axes.ravel():
        ax.axis('off')
    axes[0, 0].imshow(rgb)
    axes[0, 0].set_title('input', fontsize=8)
    correlations = []
    for column, channel in enumerate(order, start=1):
        axes[0, column].imshow(_normalised(intrinsic[channel]), cmap='viridis')
        axes[0, column].set_title(f'intrinsic {channel}', fontsize=8)
        for row in range(per_intrinsic):
            ghost_channel = channel * per_intrinsic + row
            r = _correlation(intrinsic[channel], ghost[ghost_channel])
            correlations.append(r)
            axes[row + 1, column].imshow(_normalised(ghost[ghost_channel]), cmap='viridis')
            axes[row + 1, column].set_title(f'ghost {ghost_channel}, r={r:.2f}', fontsize=8)
    mean_r = float(np.mean(correlations))
    # a learned cheap kernel may invert its map (r near -1): |r| measures the likeness either way
    mean_abs_r = float(np.mean(np.abs(correlations)))
    fig.suptitle(f'{name}: intrinsic (top) vs ghost maps, {intrinsic.shape[0]} intrinsic maps of '
                 f'{intrinsic.shape[1]}x{intrinsic.shape[2]}; mean r={mean_r:.2f}, mean |r|={mean_abs_r:.2f}',
                 fontsize=9)
    _save(fig, out, dpi)
    return dict(layer=name, channels=[int(c) for c in order], correlations=correlations, mean_correlation=mean_r,
                mean_abs_correlation=mean_abs_r, grid=(per_intrinsic + 1, len(order) + 1), out=out)


# -- GhostNetV2: DFC attention -------------------------------------------------------------------------------
def _spread_default(names: List[str], count: int = 4) -> List[str]:
    if len(names) <= count:
        return names
    return [names[round(i * (len(names) - 1) / (count - 1))] for i in range(count)]


def dfc_attention(model: nn.Module, image: str, out: str, layers: Optional[Sequence[str]] = None, size=None,
                  alpha: float = 0.5, panel: float = PANEL_INCHES, dpi: int = DPI) -> dict:
    """Overlay the DFC attention gate of each chosen layer on the input image.

    The gate (values in (0, 1), shape (C, h, w)) is averaged over channels, upsampled bilinearly to the
    image and min-max scaled for display; each title gives the layer, the gate's resolution and its actual
    range. Grid: 1 row by ``len(layers) + 1`` columns (column 0: the input).

    Args:
        layers: DFCAttention module names (default: four spread from the first to the last).
    """
    backbone = get_backbone(model)
    names = _select(backbone, 'dfc', layers, _spread_default)
    image = _single_image(image)
    batch, rgb = prepare_image(model, image, size)
    gates = {}

    def keep(layer_name):
        return lambda m, i, o: gates.__setitem__(layer_name, o[0].float().mean(0).cpu().numpy())

    with _hooks([(backbone.get_submodule(name), keep(name)) for name in names]):
        _run_backbone(model, batch)
    fig, axes = _figure(1, len(names) + 1, panel, dpi)
    for ax in axes.ravel():
        ax.axis('off')
    axes[0, 0].imshow(rgb)
    axes[0, 0].set_title('input', fontsize=8)
    summary = {}
    for column, name in enumerate(names, start=1):
        gate = gates[name]
        axes[0, column].imshow(rgb)
        axes[0, column].imshow(_normalised(_upsample(gate, rgb.shape[:2])), cmap='jet', alpha=alpha)
        axes[0, column].set_title(f'{name}\n{gate.shape[0]}x{gate.shape[1]}, gate {gate.min():.2f}-'
                                  f'{gate.max():.2f}', fontsize=7)
        summary[name] = dict(shape=gate.shape, min=float(gate.min()), max=float(gate.max()),
                             mean=float(gate.mean()))
    fig.suptitle('DFC attention (channel mean, min-max scaled)', fontsize=9)
    _save(fig, out, dpi)
    return dict(layers=summary, grid=(1, len(names) + 1), out=out)


# -- OctConv: spectra of the two frequencies ----------------------------------------------------------------
def radial_frequency(height: int, width: int, pixel: float = 1.0) -> np.ndarray:
    """fftshifted radial frequency of each FFT bin, in cycles per pixel of a map ``pixel`` times finer."""
    fy = np.fft.fftshift(np.fft.fftfreq(height)) / pixel
    fx = np.fft.fftshift(np.fft.fftfreq(width)) / pixel
    return np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)


def spectrum(feature: torch.Tensor) -> Tuple[np.ndarray, np.ndarray]:
    """``(amplitude, power)`` of a (C, H, W) feature, fftshifted, summed over channels (power) and averaged
    (amplitude). Each channel's mean is removed first, so the DC term (a constant offset, e.g. after ReLU)
    does not swamp the share of energy, and a 2-D Hann window is applied, so the jump between opposite
    borders (the FFT treats the map as periodic) does not leak energy along the axes."""
    feature = feature.double()
    feature = feature - feature.mean(dim=(-2, -1), keepdim=True)
    height, width = feature.shape[-2:]
    window = torch.outer(torch.hann_window(height, periodic=False, dtype=torch.float64),
                         torch.hann_window(width, periodic=False, dtype=torch.float64)) if min(height, width) > 2 \
        else torch.ones(height, width, dtype=torch.float64)
    feature = feature * window
    transform = torch.fft.fftshift(torch.fft.fft2(feature), dim=(-2, -1))
    amplitude = transform.abs()
    return amplitude.mean(0).numpy(), (amplitude ** 2).sum(0).numpy()


def energy_below(power: np.ndarray, frequency: np.ndarray, cutoff: float) -> float:
    """Share of ``power`` at radial frequencies below ``cutoff`` (same unit as ``frequency``); NaN when no
    frequency but 0 (DC) lies below the cut-off (a map too small to tell), or when there is no energy."""
    total = float(power.sum())
    below = frequency < cutoff
    if total <= 0 or not (below & (frequency > 0)).any():
        return float('nan')
    return float(power[below].sum() / total)


def octave_spectra(model: nn.Module, images: str, out: str, layers: Optional[Sequence[str]] = None,
                   cutoff: float = 0.125, max_images: int = 32, size=None, panel: float = PANEL_INCHES,
                   dpi: int = DPI) -> dict:
    """Average amplitude spectra of the high- and low-frequency outputs of octave convolutions.

    Frequencies are in cycles per pixel of the high-frequency map (its Nyquist limit is 0.5; the low map,
    at half resolution, holds at most 0.25), so both spectra and the cut-off share one unit. For each layer
    the share of energy (squared amplitude, channel means removed) below ``cutoff`` is computed over all
    images for each part. Images of other sizes are resized to the first image's size (or ``size``).
    Grid: ``len(layers)`` rows by 2 columns (high, low), log(1 + amplitude), cut-off drawn as a circle.

    Args:
        layers: OctaveConv2d names (default: the last octave conv of each stage that has one).
        cutoff: In (0, 0.5), cycles per high-frequency pixel.
    """
    if not 0 < cutoff < 0.5:
        raise ValueError(f'cutoff={cutoff!r} must be in (0, 0.5) cycles per pixel of the high-frequency map.')
    backbone = get_backbone(model)

    def last_per_stage(names):
        stage_of = {}
        for name in names:
            stage_of[name.split('.')[1] if name.startswith('stages.') else name] = name
        return list(stage_of.values())

    names = _select(backbone, 'octave', layers, last_per_stage)
    paths = _image_set(images, max_images)
    sums = {name: dict(high_amp=0., low_amp=0., high_pow=0., low_pow=0.) for name in names}
    sizes = {}

    def keep(layer_name):
        def hook(module, inputs, output):
            high, low = output
            for part, tensor in (('high', high), ('low', low)):
                amplitude, power = spectrum(tensor[0].float().cpu())
                sums[layer_name][f'{part}_amp'] = sums[layer_name][f'{part}_amp'] + amplitude
                sums[layer_name][f'{part}_pow'] = sums[layer_name][f'{part}_pow'] + power
                sizes[(layer_name, part)] = tuple(tensor.shape[-2:])
        return hook

    if size is None:
        size = tuple(read_image(paths[0]).shape[:2])
    with _hooks([(backbone.get_submodule(name), keep(name)) for name in names]):
        for path in paths:
            _run_backbone(model, prepare_image(model, path, size)[0])
    fig, axes = _figure(len(names), 2, panel, dpi)
    results = {}
    for row, name in enumerate(names):
        results[name] = {}
        for column, (part, pixel) in enumerate((('high', 1.0), ('low', 2.0))):
            height, width = sizes[(name, part)]
            frequency = radial_frequency(height, width, pixel)
            share = energy_below(sums[name][f'{part}_pow'], frequency, cutoff)
            results[name][part] = dict(size=(height, width), energy_below_cutoff=share)
            limit = 0.5 / pixel
            ax = axes[row, column]
            ax.imshow(np.log1p(sums[name][f'{part}_amp'] / len(paths)), cmap='magma',
                      extent=(-limit, limit, limit, -limit))
            ax.add_patch(_circle(cutoff))
            ax.set_xlim(-0.5, 0.5)
            ax.set_ylim(0.5, -0.5)
            ax.tick_params(labelsize=6)
            text = 'n/a (too small)' if share != share else f'{100 * share:.0f}% < {cutoff:g}'
            ax.set_title(f'{name}\n{part} {height}x{width}: {text}', fontsize=6)
    fig.suptitle(f'OctConv spectra over {len(paths)} images (cycles / high-res pixel)', fontsize=8)
    _save(fig, out, dpi)
    return dict(layers=results, cutoff=cutoff, images=len(paths), grid=(len(names), 2), out=out)


def _circle(radius: float):
    from matplotlib.patches import Circle
    return Circle((0, 0), radius, fill=False, color='cyan', linewidth=0.8, linestyle='--')


# -- Dynamic convolution: kernel attention -------------------------------------------------------------------
def attention_entropy(weights: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of each row of (B, K) attention weights; log K for uniform, 0 for one kernel."""
    return -(weights * weights.clamp_min(1e-12).log()).sum(-1)


def dynamic_attention(model: nn.Module, images: str, out: str, layers: Optional[Sequence[str]] = None,
                      max_images: int = 64, size=None, dpi: int = DPI) -> dict:
    """Per dynamic conv layer, the kernel attention over the K kernels across images, and its entropy.

    Top panel: for each layer (x axis, forward order) and kernel k, the mean attention pi_k over the
    images with an error bar of one standard deviation; the dashed line is 1/K (uniform). Bottom panel:
    the mean entropy of the attention divided by log K (1 = uniform, 0 = one kernel), with its spread.
    The model keeps its softmax temperature (``load_model`` restores a checkpoint's). Figure: 2 panels of
    ``max(6, 0.3 * layers)`` x 2.5 inches.

    Args:
        layers: KernelAttention module names (default: all).
    """
    backbone = get_backbone(model)
    names = _select(backbone, 'dynamic', layers, lambda names: names)
    paths = _image_set(images, max_images)
    weights = {name: [] for name in names}

    def keep(layer_name):
        return lambda m, i, o: weights[layer_name].append(o.float().cpu())

    with _hooks([(backbone.get_submodule(name), keep(name)) for name in names]):
        for path in paths:
            _run_backbone(model, prepare_image(model, path, size)[0])
    stacked = {name: torch.cat(weights[name]) for name in names}  # (images, K)
    num_kernels = stacked[names[0]].shape[1]
    width = max(6.0, 0.3 * len(names))
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(width, 5.0), dpi=dpi, layout='constrained', sharex=True)
    x = np.arange(len(names))
    results = {}
    for k in range(num_kernels):
        mean = np.array([stacked[n][:, k].mean().item() for n in names])
        std = np.array([stacked[n][:, k].std(unbiased=False).item() for n in names])
        offset = (k - (num_kernels - 1) / 2) * 0.6 / num_kernels
        top.errorbar(x + offset, mean, yerr=std, fmt='o', markersize=2.5, linewidth=0.8, label=f'kernel {k}')
    top.axhline(1 / num_kernels, color='gray', linestyle='--', linewidth=0.8)
    top.set_ylabel('attention')
    top.legend(fontsize=6, ncol=num_kernels, loc='upper right')
    entropies = []
    for name in names:
        normalised = attention_entropy(stacked[name]) / math.log(num_kernels) if num_kernels > 1 else \
            torch.zeros(len(stacked[name]))
        entropies.append((normalised.mean().item(), normalised.std(unbiased=False).item()))
        results[name] = dict(mean=stacked[name].mean(0).tolist(), std=stacked[name].std(0, unbiased=False).tolist(),
                             entropy=entropies[-1][0], entropy_std=entropies[-1][1])
    bottom.errorbar(x, [e[0] for e in entropies], yerr=[e[1] for e in entropies], fmt='o-', markersize=2.5,
                    linewidth=0.8)
    bottom.axhline(1.0, color='gray', linestyle='--', linewidth=0.8)
    bottom.set_ylabel('entropy / log K')
    bottom.set_xticks(x)
    bottom.set_xticklabels([re.sub(r'\.attention$', '', n) for n in names], rotation=90, fontsize=5)
    mean_entropy = float(np.mean([e[0] for e in entropies]))
    top.set_title(f'kernel attention over {len(paths)} images, K={num_kernels}; mean normalised entropy '
                  f'{mean_entropy:.3f}', fontsize=9)
    _save(fig, out, dpi)
    return dict(layers=results, images=len(paths), num_kernels=num_kernels, mean_entropy=mean_entropy,
                figsize=(width, 5.0), out=out)


# -- MobileViT: attention of one pixel ---------------------------------------------------------------------
def patch_query(pixel: Tuple[int, int], image_size: Tuple[int, int], feature_size: Tuple[int, int],
                patch_size: int) -> Tuple[int, int, Tuple[int, int]]:
    """Where the image pixel ``(x, y)`` sits in a MobileViT block's unfolded tokens.

    The block works on a ``feature_size`` map, resized up to a multiple of the patch when needed; the
    pixel falls in one feature cell, which has an in-patch position (the sequence it belongs to) and a
    patch index (its token in that sequence), following ``MobileViTBlock.unfold``.

    Returns:
        ``(sequence, token, (rows, cols))``: index into the ``B * P`` sequences (batch 0), the query's token
        index, and the patch grid.
    """
    x, y = pixel
    image_h, image_w = image_size
    if not (0 <= x < image_w and 0 <= y < image_h):
        raise ValueError(f'pixel=({x}, {y}) is outside the {image_w}x{image_h} image; give x in [0, '
                         f'{image_w - 1}] and y in [0, {image_h - 1}].')
    p = patch_size
    height = math.ceil(feature_size[0] / p) * p
    width = math.ceil(feature_size[1] / p) * p
    fy, fx = min(y * height // image_h, height - 1), min(x * width // image_w, width - 1)
    rows, cols = height // p, width // p
    return (fy % p) * p + fx % p, (fy // p) * cols + fx // p, (rows, cols)


def attention_weights(attention: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """Softmax attention weights (B, heads, N, N) that ``MultiheadSelfAttention`` computes on ``tokens``,
    recomputed from its qkv projection (scaled dot product, scale 1 / sqrt(head width))."""
    batch, count, channels = tokens.shape
    heads = attention.num_heads
    qkv = attention.qkv(tokens).reshape(batch, count, 3, heads, channels // heads).permute(2, 0, 3, 1, 4)
    q, k = qkv[0], qkv[1]
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(channels // heads), dim=-1)


def mobilevit_attention(model: nn.Module, image: str, out: str, layer: Optional[str] = None,
                        pixel: Optional[Tuple[int, int]] = None, head: Optional[int] = None, size=None,
                        alpha: float = 0.5, panel: float = PANEL_INCHES, dpi: int = DPI) -> dict:
    """Heat map of the attention that one query pixel pays to every patch, in one transformer layer.

    MobileViT attends across patches, separately for each pixel position inside a patch: the query pixel
    picks the sequence of its in-patch position and its own patch as the query token; the weights over all
    patches (same in-patch position) are drawn at those patches' places in the image, averaged over heads
    unless ``head`` is given, coloured from 0 to the largest weight. Grid: 1 row by 3 columns (input with
    the query, overlay, raw patch grid).

    Args:
        layer: TransformerLayer name, or a MobileViTBlock name for its last layer (default: the last
            layer of the first block).
        pixel: ``(x, y)`` in the (resized) image; default its centre.
    """
    from lwmm.models.layers.mobilevit_block import MobileViTBlock
    backbone = get_backbone(model)
    names = _require_layers(backbone, 'mobilevit')
    if layer:
        layer = layer[len('backbone.'):] if layer.startswith('backbone.') else layer
        inside = [n for n in names if n.startswith(layer + '.transformer.')]
        if layer not in names and not inside:
            raise ValueError(f'layer {layer!r} is not a MobileViT transformer layer or block of '
                             f'{type(backbone).__name__}; choose among: {", ".join(names)}.')
        name = layer if layer in names else inside[-1]
    else:
        first_block = names[0].rsplit('.transformer.', 1)[0]
        name = [n for n in names if n.startswith(first_block + '.transformer.')][-1]
    block_name = name.rsplit('.transformer.', 1)[0]
    block = backbone.get_submodule(block_name)
    if not isinstance(block, MobileViTBlock):
        raise ValueError(f'layer {name!r} is not inside a MobileViTBlock (its parent is {type(block).__name__}).')
    transformer_layer = backbone.get_submodule(name)
    image = _single_image(image)
    batch, rgb = prepare_image(model, image, size)
    image_size = tuple(rgb.shape[:2])
    if pixel is None:
        pixel = (image_size[1] // 2, image_size[0] // 2)
    captured = {}
    hooks = [(block, lambda m, inputs: captured.__setitem__('feature_size', tuple(inputs[0].shape[-2:]))),
             (transformer_layer.attn, lambda m, inputs: captured.__setitem__(
                 'weights', attention_weights(m, inputs[0]).float().cpu()))]
    with torch.no_grad(), _hooks(hooks, pre=True):
        _run_backbone(model, batch)
    weights = captured['weights']
    heads = weights.shape[1]
    if head is not None and not 0 <= head < heads:
        raise ValueError(f'head={head!r}: layer {name} has {heads} heads; give 0..{heads - 1} or none (mean).')
    sequence, token, grid = patch_query(pixel, image_size, captured['feature_size'], block.patch_size)
    row = weights[sequence, head] if head is not None else weights[sequence].mean(0)
    row = row[token].reshape(grid).numpy()
    heat = _upsample(row, image_size, mode='nearest')
    fig, axes = _figure(1, 3, panel, dpi)
    for ax in axes.ravel():
        ax.axis('off')
    axes[0, 0].imshow(rgb)
    axes[0, 0].plot([pixel[0]], [pixel[1]], marker='+', color='red', markersize=10, markeredgewidth=2)
    axes[0, 0].set_title(f'query ({pixel[0]}, {pixel[1]})', fontsize=8)
    axes[0, 1].imshow(rgb)
    # scaled from 0 (not min-max) so that attention close to uniform shows as the flat colour it is
    axes[0, 1].imshow(heat, cmap='jet', alpha=alpha, vmin=0, vmax=max(float(row.max()), 1e-12))
    axes[0, 1].plot([pixel[0]], [pixel[1]], marker='+', color='white', markersize=10, markeredgewidth=2)
    axes[0, 1].set_title(f'{name}', fontsize=7)
    axes[0, 2].imshow(row, cmap='jet', vmin=0, vmax=max(float(row.max()), 1e-12))
    entropy = float(attention_entropy(torch.as_tensor(row).flatten()))
    axes[0, 2].set_title(f'{grid[0]}x{grid[1]} patches, max {row.max():.2f}\nentropy {entropy:.2f} / '
                         f'{math.log(row.size):.2f}', fontsize=7)
    fig.suptitle(f'MobileViT attention, {"mean of heads" if head is None else f"head {head}"}', fontsize=9)
    _save(fig, out, dpi)
    return dict(layer=name, pixel=tuple(pixel), grid=grid, weights=row, entropy=entropy, out=out)
