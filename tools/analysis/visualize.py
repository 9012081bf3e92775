"""The seed papers' pictures of a model, one sub-command per analysis, each writing a PNG.

    python tools/analysis/visualize.py ghost     CONFIG [CKPT] --image IMG --out OUT.png [--layer NAME] [--num-maps 8]
    python tools/analysis/visualize.py dfc       CONFIG [CKPT] --image IMG --out OUT.png [--layers NAME ...]
    python tools/analysis/visualize.py octave    CONFIG [CKPT] --image DIR --out OUT.png [--layers ...] [--cutoff 0.125]
    python tools/analysis/visualize.py dynamic   CONFIG [CKPT] --image DIR --out OUT.png [--layers ...]
    python tools/analysis/visualize.py mobilevit CONFIG [CKPT] --image IMG --out OUT.png [--layer NAME] [--pixel X Y]
    python tools/analysis/visualize.py layers    CONFIG       (which analyses apply, and their layer names)

ghost: GhostNet's intrinsic maps beside their ghost maps. dfc: GhostNetV2's DFC attention over the image.
octave: OctConv's high/low-frequency spectra and energy below a cut-off, over a folder of images. dynamic:
the kernel attention of every dynamic conv across images, mean, spread and entropy. mobilevit: the
attention of one query pixel in one transformer layer. Any classifier, detector or segmentor config works;
without CHECKPOINT the model keeps its random initialisation. Layer names are module paths inside the
backbone (see the `layers` sub-command). Library: lwmm.analysis.visualize.
"""
import argparse
import math
import os
import os.path as osp
import sys

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

ANALYSES = ('ghost', 'dfc', 'octave', 'dynamic', 'mobilevit')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', required=True)

    def add(name, help_text, image_help):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument('config')
        sub.add_argument('checkpoint', nargs='?', help='weights (.pth); random initialisation without one')
        sub.add_argument('--image', required=True, help=image_help)
        sub.add_argument('--out', required=True, help='output PNG')
        sub.add_argument('--size', type=int, nargs='+', help='resize images to H [W] first')
        sub.add_argument('--device', default='cpu')
        sub.add_argument('--dpi', type=int, default=80)
        return sub

    sub = add('ghost', 'intrinsic maps beside their ghost maps (GhostNet / GhostNetV2)', 'an image')
    sub.add_argument('--layer', help='Ghost module name (default: one in the middle of the network)')
    sub.add_argument('--num-maps', type=int, default=8, help='intrinsic maps to show')
    sub = add('dfc', 'DFC attention over the image (GhostNetV2)', 'an image')
    sub.add_argument('--layers', nargs='+', help='DFCAttention names (default: four spread over the network)')
    sub = add('octave', 'spectra of the high/low-frequency outputs (OctConv)', 'a folder of images (or one)')
    sub.add_argument('--layers', nargs='+', help='OctaveConv2d names (default: the last of each stage)')
    sub.add_argument('--cutoff', type=float, default=0.125, help='cycles per high-frequency pixel, in (0, 0.5)')
    sub.add_argument('--max-images', type=int, default=32)
    sub = add('dynamic', 'kernel attention across images (Dynamic Convolution)', 'a folder of images (or one)')
    sub.add_argument('--layers', nargs='+', help='KernelAttention names (default: all)')
    sub.add_argument('--max-images', type=int, default=64)
    sub = add('mobilevit', "one pixel's attention over the image (MobileViT)", 'an image')
    sub.add_argument('--layer', help='TransformerLayer or MobileViTBlock name (default: the first block)')
    sub.add_argument('--pixel', type=int, nargs=2, metavar=('X', 'Y'), help='query pixel (default: centre)')
    sub.add_argument('--head', type=int, help='one attention head (default: mean of heads)')
    sub = commands.add_parser('layers', help='list the layers each analysis can read in a config')
    sub.add_argument('config')
    return parser.parse_args(argv)


def _size(values):
    if not values:
        return None
    if len(values) > 2 or min(values) < 1:
        raise ValueError(f'--size {values}: give one or two positive ints (H [W]).')
    return (values[0], values[-1])


def main(argv=None):
    args = parse_args(argv)
    from lwmm.analysis import visualize as V
    from lwmm.analysis.inference import load_model
    if args.command == 'layers':
        model, _ = load_model(args.config)
        backbone = V.get_backbone(model)
        found = False
        for kind in ANALYSES:
            names = V.find_layers(backbone, kind)
            if names:
                found = True
                print(f'{kind}: {len(names)} layers\n  ' + '\n  '.join(names))
        if not found:
            print(f'{type(backbone).__name__} has none of the layers these analyses read.')
        return None
    model, _ = load_model(args.config, args.checkpoint, args.device)
    common = dict(out=args.out, size=_size(args.size), dpi=args.dpi)
    if args.command == 'ghost':
        result = V.ghost_maps(model, args.image, layer=args.layer, num_maps=args.num_maps, **common)
        per_map = ', '.join(f'{r:.2f}' for r in result['correlations'])
        print(f'{result["layer"]}: ghost/intrinsic correlation per map {per_map}; mean '
              f'{result["mean_correlation"]:.3f}, mean |r| {result["mean_abs_correlation"]:.3f}')
    elif args.command == 'dfc':
        result = V.dfc_attention(model, args.image, layers=args.layers, **common)
        for name, stats in result['layers'].items():
            print(f'{name}: gate {stats["shape"][0]}x{stats["shape"][1]}, min {stats["min"]:.3f} mean '
                  f'{stats["mean"]:.3f} max {stats["max"]:.3f}')
    elif args.command == 'octave':
        result = V.octave_spectra(model, args.image, layers=args.layers, cutoff=args.cutoff,
                                  max_images=args.max_images, **common)
        print(f'share of energy below {args.cutoff} cycles/pixel (high-frequency pixels), '
              f'{result["images"]} images:')
        for name, parts in result['layers'].items():
            high, low = parts['high'], parts['low']
            print(f'{name}: high {100 * high["energy_below_cutoff"]:.1f}% ({high["size"][0]}x{high["size"][1]}), '
                  f'low {100 * low["energy_below_cutoff"]:.1f}% ({low["size"][0]}x{low["size"][1]})')
        print('(nan: the map is too small to hold any frequency but DC below the cut-off)')
    elif args.command == 'dynamic':
        result = V.dynamic_attention(model, args.image, layers=args.layers, max_images=args.max_images, **common)
        print(f'kernel attention over {result["images"]} images (K={result["num_kernels"]}); '
              'entropy / log K: 1 = uniform')
        for name, stats in result['layers'].items():
            print(f'{name}: mean ' + ' '.join(f'{m:.3f}' for m in stats['mean']) + ' std '
                  + ' '.join(f'{s:.3f}' for s in stats['std']) + f' entropy {stats["entropy"]:.3f}')
        print(f'mean normalised entropy {result["mean_entropy"]:.3f}')
    else:
        result = V.mobilevit_attention(model, args.image, layer=args.layer,
                                       pixel=tuple(args.pixel) if args.pixel else None, head=args.head, **common)
        print(f'{result["layer"]}: pixel {result["pixel"]}, {result["grid"][0]}x{result["grid"][1]} patches, '
              f'max weight {result["weights"].max():.3f}, entropy {result["entropy"]:.3f} '
              f'(uniform {math.log(result["weights"].size):.3f})')
    print(f'wrote {result["out"]}')
    return result


if __name__ == '__main__':
    main()
