"""DeepForest's VOC-annotated orthophotos -> a COCO detection split of tiles (lwmm.datasets.deepforest).

    python tools/dataset_converters/deepforest2coco.py data/real/deepforest data/real/deepforest_coco
        [--tile 400] [--overlap 0] [--min-visible 0.5] [--val-images NAME ...] [--force]

Writes DST/{train,val}/*.png and DST/annotations/instances_{train,val}.json; the split is by photo. A second
run with the same arguments does nothing (stamp DST/.done), unless --force.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from lwmm.datasets.deepforest import DEFAULT_VAL_IMAGES, convert_deepforest  # noqa: E402
from lwmm.datasets.stamp import is_converted, mark_converted  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='folder of <name>.xml + <name>.png (data/real/deepforest)')
    parser.add_argument('dst', help='output folder (data/real/deepforest_coco)')
    parser.add_argument('--tile', type=int, default=400, help='tile size in px (default 400)')
    parser.add_argument('--overlap', type=int, default=0, help='tile overlap in px (default 0)')
    parser.add_argument('--min-visible', type=float, default=0.5,
                        help='keep a clipped box when this share of its area is in the tile (default 0.5)')
    parser.add_argument('--val-images', nargs='+', default=list(DEFAULT_VAL_IMAGES),
                        help=f'photos (XML stems) for val (default: {" ".join(DEFAULT_VAL_IMAGES)})')
    parser.add_argument('--force', action='store_true', help='convert again even if DST/.done matches')
    args = parser.parse_args(argv)
    stamp = repr((args.tile, args.overlap, args.min_visible, sorted(args.val_images)))
    if not args.force and is_converted(args.dst, stamp):
        print(f'{args.dst}: up to date')
        return
    coco = convert_deepforest(args.src, args.dst, tile=args.tile, overlap=args.overlap,
                              min_visible=args.min_visible, val_images=args.val_images)
    for split, data in coco.items():
        print(f'{split}: {len(data["images"])} tiles, {len(data["annotations"])} boxes '
              f'from {sorted({image["source"] for image in data["images"]})}')
    mark_converted(args.dst, stamp)


if __name__ == '__main__':
    main()
