"""A procedural shapes dataset written in the real layouts of COCO, ADE20K and ImageNet.

No dataset can be downloaded here, so lwmm's demos and end-to-end tests train on pictures it draws:
circles, squares, triangles and stars of varied sizes, colours and rotations, overlapping, on noisy
gradient backgrounds (in the classification layout, bright shapes on dark ones). The same generator writes

- ``coco/``: ``train2017/``, ``val2017/``, ``annotations/instances_{train,val}2017.json`` (bbox,
  polygon segmentation, area, iscrowd) — mmdet's ``CocoDataset`` reads it as it reads COCO;
- ``ade/ADEChallengeData2016/``: ``images/{training,validation}/*.jpg`` and
  ``annotations/{training,validation}/*.png`` (0 = background, k = k-th shape class) — mmseg's layout;
- ``imagenet/``: ``train/<class>/*.jpg``, ``val/<class>/*.jpg`` with ``meta/{train,val}.txt`` —
  mmpretrain's ImageNet folder layout, one shape per image.

Everything is a function of the seed: the same seed writes the same bytes.
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

CLASSES = ('circle', 'square', 'triangle', 'star')
SPLITS = {'train': ('train2017', 'training'), 'val': ('val2017', 'validation')}


def _polygon(shape: str, cx: float, cy: float, radius: float, angle: float) -> np.ndarray:
    """Outline of ``shape`` as an (N, 2) float array."""
    if shape == 'circle':
        t = np.linspace(0, 2 * math.pi, 32, endpoint=False)
        return np.stack([cx + radius * np.cos(t), cy + radius * np.sin(t)], 1)
    if shape == 'square':
        t = angle + np.arange(4) * math.pi / 2 + math.pi / 4
        return np.stack([cx + radius * np.cos(t), cy + radius * np.sin(t)], 1)
    if shape == 'triangle':
        t = angle + np.arange(3) * 2 * math.pi / 3 - math.pi / 2
        return np.stack([cx + radius * np.cos(t), cy + radius * np.sin(t)], 1)
    if shape == 'star':
        t = angle + np.arange(10) * math.pi / 5 - math.pi / 2
        r = np.where(np.arange(10) % 2 == 0, radius, radius * 0.45)
        return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1)
    raise ValueError(f'unknown shape {shape!r}; known: {CLASSES}')


def _background(rng: np.random.Generator, size: int, max_value: int = 256) -> np.ndarray:
    c0, c1 = rng.integers(0, max_value, 3), rng.integers(0, max_value, 3)
    ramp = np.linspace(0, 1, size)[:, None, None]
    if rng.random() < 0.5:
        ramp = ramp.transpose(1, 0, 2)
    img = c0 * (1 - ramp) + c1 * ramp
    img = img + rng.normal(0, 12, (size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_scene(rng: np.random.Generator, size: int, max_objects: int, min_objects: int = 1,
                category: int = None, bright_on_dark: bool = False) -> Tuple[np.ndarray, np.ndarray, List[dict]]:
    """Draw one picture; returns the image, its label map and the visible objects.

    ``category`` fixes the class of every shape (the classification layout wants balanced classes).
    ``bright_on_dark`` draws bright shapes (channels 155-255) on a dark background (0-99) instead of any
    colour on any background; both keep the contrast check.
    """
    img = _background(rng, size, max_value=100 if bright_on_dark else 256)
    labels = np.zeros((size, size), np.uint8)
    instances = np.zeros((size, size), np.int32)
    objects = []
    for index in range(int(rng.integers(min_objects, max_objects + 1))):
        cls = int(rng.integers(len(CLASSES))) if category is None else category
        radius = float(rng.uniform(0.08, 0.25) * size)
        cx, cy = rng.uniform(radius * 0.6, size - radius * 0.6, 2)
        poly = _polygon(CLASSES[cls], cx, cy, radius, float(rng.uniform(0, 2 * math.pi)))
        lowest = 155 if bright_on_dark else 0
        colour = rng.integers(lowest, 256, 3)
        # keep the shape visible against the background under it
        while np.abs(colour.astype(int) - img[int(min(cy, size - 1)), int(min(cx, size - 1))].astype(int)).sum() < 120:
            colour = rng.integers(lowest, 256, 3)
        pts = np.round(poly).astype(np.int32)
        cv2.fillPoly(img, [pts], tuple(int(c) for c in colour), lineType=cv2.LINE_AA)
        cv2.fillPoly(labels, [pts], cls + 1)
        cv2.fillPoly(instances, [pts], index + 1)
        objects.append(dict(category=cls, polygon=poly))
    visible = []
    for index, obj in enumerate(objects):
        mask = instances == index + 1
        area = int(mask.sum())
        if area < 64:  # hidden under later shapes
            continue
        ys, xs = np.nonzero(mask)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        polygon = np.clip(obj['polygon'], 0, size - 1)
        visible.append(dict(category=obj['category'], bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                            area=float(area), segmentation=[polygon.reshape(-1).round(2).tolist()]))
    return img, labels, visible


def write_coco(root: str, split: str, num_images: int, size: int, seed: int, max_objects: int = 3) -> str:
    """Write ``root/coco/{train,val}2017`` and its instances json; returns the json path."""
    image_dir, _ = SPLITS[split]
    rng = np.random.default_rng([seed, 0 if split == 'train' else 1, 1])
    os.makedirs(osp.join(root, 'coco', image_dir), exist_ok=True)
    os.makedirs(osp.join(root, 'coco', 'annotations'), exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        img, _, objects = _draw_scene(rng, size, max_objects)
        file_name = f'{image_id:012d}.jpg'
        cv2.imwrite(osp.join(root, 'coco', image_dir, file_name), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        images.append(dict(id=image_id, file_name=file_name, width=size, height=size))
        for obj in objects:
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id, category_id=obj['category'] + 1,
                                    bbox=obj['bbox'], area=obj['area'], segmentation=obj['segmentation'],
                                    iscrowd=0))
    ann_file = osp.join(root, 'coco', 'annotations', f'instances_{image_dir}.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=[dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(CLASSES)]), f)
    return ann_file


def write_ade(root: str, split: str, num_images: int, size: int, seed: int, max_objects: int = 4) -> str:
    """Write ``root/ade/ADEChallengeData2016/{images,annotations}/<split>``; returns the data root."""
    _, ade_split = SPLITS[split]
    rng = np.random.default_rng([seed, 0 if split == 'train' else 1, 2])
    data_root = osp.join(root, 'ade', 'ADEChallengeData2016')
    for kind in ('images', 'annotations'):
        os.makedirs(osp.join(data_root, kind, ade_split), exist_ok=True)
    for index in range(1, num_images + 1):
        img, labels, _ = _draw_scene(rng, size, max_objects)
        name = f'ADE_{ade_split}_{index:08d}'
        cv2.imwrite(osp.join(data_root, 'images', ade_split, name + '.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(osp.join(data_root, 'annotations', ade_split, name + '.png'), labels)
    return data_root


def write_imagenet(root: str, split: str, num_images: int, size: int, seed: int) -> str:
    """Write ``root/imagenet/<split>/<class>/*.jpg`` (one shape per image) and ``meta/<split>.txt``.

    The shapes are bright on dark backgrounds. With any colour on any background, as in the detection and
    segmentation layouts (whose boxes and masks say where the shape is), from-scratch classifiers stayed
    at chance over the demos' 250 iterations: a six-layer CNN reached 20-26 % top-1 after 12 epochs of
    400 images, against 92 % with one polarity.
    """
    rng = np.random.default_rng([seed, 0 if split == 'train' else 1, 3])
    data_root = osp.join(root, 'imagenet')
    os.makedirs(osp.join(data_root, 'meta'), exist_ok=True)
    lines = []
    for index in range(num_images):
        cls = index % len(CLASSES)
        img, _, _ = _draw_scene(rng, size, max_objects=1, category=cls, bright_on_dark=True)
        rel = osp.join(CLASSES[cls], f'{split}_{index:06d}.jpg')
        os.makedirs(osp.join(data_root, split, CLASSES[cls]), exist_ok=True)
        cv2.imwrite(osp.join(data_root, split, rel), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        lines.append(f'{rel} {cls}')
    with open(osp.join(data_root, 'meta', f'{split}.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return data_root


#: default sizes of the demo data: small enough to write in seconds, large enough to learn from. The classifiers
#: get 2000 training images: with 400, the demos' 375 iterations took GhostNet to 81 % validation top-1; with 2000,
#: GhostNetV2 reached 98 % (docs/demos.md). An iteration costs the same whichever set its images come from.
DEFAULTS = dict(
    coco=dict(train=400, val=100, size=320),
    ade=dict(train=200, val=50, size=256),
    imagenet=dict(train=2000, val=100, size=96),
)
WRITERS = dict(coco=write_coco, ade=write_ade, imagenet=write_imagenet)


def make_shapes(root: str = 'data/shapes', tasks=('coco', 'ade', 'imagenet'), seed: int = 0,
                scale: float = 1.0) -> Dict[str, str]:
    """Write the shapes data for ``tasks`` under ``root``; ``scale`` multiplies the image counts."""
    unknown = set(tasks) - set(WRITERS)
    if unknown:
        raise ValueError(f'make_shapes: unknown tasks {sorted(unknown)}; choose from {sorted(WRITERS)}.')
    written = {}
    for task in tasks:
        spec = DEFAULTS[task]
        for split in ('train', 'val'):
            count = max(2, int(round(spec[split] * scale)))
            written[f'{task}/{split}'] = WRITERS[task](root, split, count, spec['size'], seed)
    return written
