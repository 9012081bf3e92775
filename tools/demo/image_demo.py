"""Draw what a model predicts on an image (or on every image of a folder).

    python tools/demo/image_demo.py IMAGE_OR_FOLDER CONFIG CHECKPOINT --out OUT.png|OUT_DIR
                                    [--score-thr 0.3] [--opacity 0.5] [--topk 1] [--device cpu]

Works for any classifier (mmpretrain), detector (mmdet) or segmentor (mmseg) config, chosen by the
config's default_scope: the picture shows the predicted class(es) and score(s), the boxes scoring at
least --score-thr (the best box's label drawn last, on top, inside the image), or the predicted mask
blended over the image. A folder in gives a folder out, one <name>.png per image. Each prediction is also
printed under its ``in -> out`` line, best first, scores as percentages:

    data/shapes/coco/val2017/000000.jpg -> out.png: 2 prediction(s)
      circle  91.2%  box (12, 30, 58, 77)
      square  40.5%  box (60, 4, 101, 49)

(classifier: ``class  score%``; segmentor: ``class  area N px (share%)``).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('image', help='an image file or a folder of images')
    parser.add_argument('config', help='config file (configs/cls, det, seg or demo)')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    parser.add_argument('--out', required=True, help='output picture (.png) for one image, a folder for a folder')
    parser.add_argument('--score-thr', type=float, default=0.3, help='detection: draw boxes scoring at least this')
    parser.add_argument('--opacity', type=float, default=0.5, help='segmentation: opacity of the mask')
    parser.add_argument('--topk', type=int, default=1, help='classification: classes to print, best first')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:N')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from lwmm.analysis.inference import Predictor, list_images, load_model, output_paths
    images = list_images(args.image)
    outputs = output_paths(images, args.out, osp.isdir(args.image))
    model, cfg = load_model(args.config, args.checkpoint, args.device)
    predictor = Predictor(model, cfg, score_thr=args.score_thr, opacity=args.opacity, topk=args.topk)
    for image, out_file in zip(images, outputs):
        sample = predictor.draw(image, out_file)
        lines = predictor.describe(sample)
        print(f'{image} -> {out_file}: {len(lines)} prediction(s)' + ''.join(f'\n  {line}' for line in lines))


if __name__ == '__main__':
    main()
