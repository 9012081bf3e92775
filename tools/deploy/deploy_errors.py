"""Measure how far the deploy forms are from the eval-mode model, per backbone: a table for docs/deploy.md.

    python tools/deploy/deploy_errors.py [--size 224] [--only NAME ...] [--batch 2] [--out FILE.md]

For each backbone (every family and published arch), BN statistics and affine parameters are randomised
(``lwmm.deploy.randomize_norms``: a fresh BN is nearly the identity and would hide a wrong fold), then:

- fused: ``max|fused - unfused|`` over the outputs of all stages, and the same divided by
  ``max(1, max|unfused|)`` (the rule tests/deploy/test_fuse.py checks at 1e-5);
- ONNX: the fused model exported with a dynamic batch and run by ONNX Runtime at the export batch and at
  batch + 1, ``max|ort - unfused| / max|unfused|`` (export_onnx's own check is 1e-5 + 1e-4 * max|y|).

Prints a markdown table (and writes it with --out). Figures depend on the input (seeded) and the machine's
kernels; they are measurements, not bounds.
"""
import argparse
import copy
import os.path as osp
import sys
import tempfile
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn

BACKBONES = {
    'GhostNet 0.5x': dict(type='lwmm.GhostNet', widen_factor=0.5),
    'GhostNet 1.0x': dict(type='lwmm.GhostNet', widen_factor=1.0),
    'GhostNet 1.3x': dict(type='lwmm.GhostNet', widen_factor=1.3),
    'GhostNetV2 1.0x': dict(type='lwmm.GhostNetV2', widen_factor=1.0),
    'MobileViT-XXS': dict(type='lwmm.MobileViT', arch='xx_small'),
    'MobileViT-XS': dict(type='lwmm.MobileViT', arch='x_small'),
    'MobileViT-S': dict(type='lwmm.MobileViT', arch='small'),
    'Oct-ResNet-26 a0.5': dict(type='lwmm.OctResNet', depth=26, alpha=0.5),
    'Oct-ResNet-50 a0': dict(type='lwmm.OctResNet', depth=50, alpha=0.0),
    'Oct-ResNet-50 a0.5': dict(type='lwmm.OctResNet', depth=50, alpha=0.5),
    'Oct-MobileNetV2 1.0x': dict(type='lwmm.OctMobileNetV2'),
    'DY-MobileNetV2 1.0x': dict(type='lwmm.DYMobileNetV2', widen_factor=1.0),
    'DY-MobileNetV3-Small': dict(type='lwmm.DYMobileNetV3', arch='small'),
    'DY-MobileNetV3-Large': dict(type='lwmm.DYMobileNetV3', arch='large'),
    'DY-ResNet-10': dict(type='lwmm.DYResNet', depth=10),
    'DY-ResNet-18': dict(type='lwmm.DYResNet', depth=18),
    'DynamicConv(mmpretrain MobileNetV2)': dict(
        type='lwmm.DynamicConvBackbone', backbone=dict(type='mmpretrain.MobileNetV2', out_indices=(7, ))),
}


class AllStages(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        return tuple(self.backbone(x))


def measure(name: str, cfg: dict, size: int, batch: int, folder: str) -> dict:
    from lwmm.deploy import export_onnx, randomize_norms, switch_to_deploy, unfused_norms
    from lwmm.registry import MODELS
    import onnxruntime as ort

    torch.manual_seed(0)
    model = AllStages(randomize_norms(MODELS.build(copy.deepcopy(cfg))))
    fused = switch_to_deploy(copy.deepcopy(model))
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, size, size, generator=generator)
    with torch.no_grad():
        expected = model(x)
        got = fused(x)
    fused_abs = max((e - g).abs().max().item() for e, g in zip(expected, got))
    fused_rel = max((e - g).abs().max().item() / max(1.0, e.abs().max().item()) for e, g in zip(expected, got))
    path = osp.join(folder, 'model.onnx')
    export_onnx(fused, x, path, check=False)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    onnx_rel = 0.0
    for tensor in (x, torch.randn(batch + 1, 3, size, size, generator=generator)):
        with torch.no_grad():
            want = model(tensor)
        have = session.run(None, {'input': tensor.numpy()})
        for w, h in zip(want, have):
            onnx_rel = max(onnx_rel, float(np.abs(w.numpy() - h).max() / np.abs(w.numpy()).max()))
    return dict(name=name, fused_abs=fused_abs, fused_rel=fused_rel, onnx_rel=onnx_rel,
                left=len(unfused_norms(fused)))


def main(argv: Optional[List[str]] = None) -> List[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--size', type=int, default=224, help='input height and width (default 224)')
    parser.add_argument('--batch', type=int, default=2, help='export batch (the check adds batch + 1)')
    parser.add_argument('--only', nargs='+', help=f'names to run, of: {", ".join(BACKBONES)}')
    parser.add_argument('--out', help='also write the markdown table here')
    args = parser.parse_args(argv)
    import lwmm  # noqa: F401
    names = args.only or list(BACKBONES)
    unknown = [n for n in names if n not in BACKBONES]
    if unknown:
        raise ValueError(f'--only: unknown {unknown}; choose from {list(BACKBONES)}.')
    rows = []
    lines = [f'| backbone ({args.size}x{args.size}, batch {args.batch}) | fused max abs diff | '
             f'fused diff / max(1, max abs y) | ONNX Runtime diff / max abs y | BNs left |',
             '|---|---|---|---|---|']
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            row = measure(name, BACKBONES[name], args.size, args.batch, folder)
            rows.append(row)
            lines.append(f'| {name} | {row["fused_abs"]:.2e} | {row["fused_rel"]:.2e} | {row["onnx_rel"]:.2e} | '
                         f'{row["left"]} |')
            print(lines[-1] if len(rows) > 1 else '\n'.join(lines), flush=True)
    table = '\n'.join(lines) + (f'\n\ntorch {torch.__version__}, command: python tools/deploy/deploy_errors.py '
                                f'{" ".join(argv if argv is not None else sys.argv[1:])}\n')
    if args.out:
        with open(args.out, 'w') as file:
            file.write(table)
    return rows


if __name__ == '__main__':
    main()
