"""Write the procedural shapes dataset in COCO, ADE20K and ImageNet-folder layouts.

    python tools/make_shapes.py [--root data/shapes] [--tasks coco ade imagenet] [--seed 0] [--scale 1]
"""
import argparse
import time

from lwmm.datasets.shapes import WRITERS, make_shapes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', default='data/shapes', help='output folder')
    parser.add_argument('--tasks', nargs='+', default=list(WRITERS), choices=list(WRITERS))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--scale', type=float, default=1.0, help='multiplies the number of images')
    args = parser.parse_args()
    start = time.time()
    for name, path in make_shapes(args.root, args.tasks, args.seed, args.scale).items():
        print(f'{name}: {path}')
    print(f'done in {time.time() - start:.1f}s')


if __name__ == '__main__':
    main()
