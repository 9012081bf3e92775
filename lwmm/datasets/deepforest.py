"""DeepForest's annotated orthophotos (Weinstein et al., 2019; the ``deepforest`` wheel's data folder, MIT) as
a COCO detection split of fixed-size tiles, for mmdet's ``CocoDataset``.

Each image is annotated in Pascal VOC XML (tree-crown boxes). The large photos are cut into ``tile`` x
``tile`` windows (the last row and column are moved inwards so every tile is full size; a smaller image
is one tile of its own size); each box is clipped to the tile and kept when at least ``min_visible`` of
its area lies inside. The split is by photo, never by tile: tiles of one photo are all in train or all in
val, so overlapping tiles cannot leak a crown across the split.
"""
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Sequence, Tuple

import numpy as np

# The photos of the deepforest 2.1.0 data folder that carry boxes, and the split by photo: train holds the
# largest orthophoto (574 crowns) and one 400 px crop, val the 1249x1035 photo and the other crop.
DEFAULT_VAL_IMAGES = ('2019_YELL_2_541000_4977000_image_crop', 'SOAP_061')
# SOAP_061 labels its crowns Alive / Dead; the others say Tree. The default merges them into one class.
DEFAULT_CLASS_MAP = {'Tree': 'tree', 'Alive': 'tree', 'Dead': 'tree'}


def read_voc_boxes(xml_path: str) -> Tuple[int, int, np.ndarray, List[str]]:
    """Width, height, (N, 4) float boxes (x1, y1, x2, y2; VOC's pixel indices as COCO corners) and labels."""
    root = ET.parse(xml_path).getroot()
    size = root.find('size')
    if size is None:
        raise ValueError(f'{xml_path}: no <size> element; is it a Pascal VOC annotation?')
    width, height = int(size.findtext('width')), int(size.findtext('height'))
    boxes, labels = [], []
    for obj in root.iter('object'):
        box = obj.find('bndbox')
        boxes.append([float(box.findtext(key)) for key in ('xmin', 'ymin', 'xmax', 'ymax')])
        labels.append(obj.findtext('name'))
    return width, height, np.asarray(boxes, dtype=np.float64).reshape(-1, 4), labels


def tile_windows(width: int, height: int, tile: int, overlap: int = 0) -> List[Tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) windows of ``tile`` px covering the image; the last ones shifted to end at the edge."""
    if tile <= 0 or not 0 <= overlap < tile:
        raise ValueError(f'tile={tile!r} must be positive and overlap={overlap!r} in [0, tile).')

    def starts(length: int) -> List[int]:
        if length <= tile:
            return [0]
        step = tile - overlap
        positions = list(range(0, length - tile, step)) + [length - tile]
        return sorted(set(positions))

    return [(x, y, min(x + tile, width), min(y + tile, height)) for y in starts(height) for x in starts(width)]


def clip_boxes(boxes: np.ndarray, window: Sequence[int], min_visible: float) -> Tuple[np.ndarray, np.ndarray]:
    """Boxes clipped to ``window`` in its coordinates, and the indices of the kept boxes (visible share
    of the area >= ``min_visible``)."""
    x0, y0, x1, y1 = window
    clipped = boxes.copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(x0, x1)
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(y0, y1)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    visible = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    keep = np.flatnonzero((visible > 0) & (visible >= min_visible * np.maximum(area, 1e-9)))
    return clipped[keep] - [x0, y0, x0, y0], keep


def convert_deepforest(src: str,
                       dst: str,
                       tile: int = 400,
                       overlap: int = 0,
                       min_visible: float = 0.5,
                       val_images: Sequence[str] = DEFAULT_VAL_IMAGES,
                       class_map: Dict[str, str] = None) -> Dict[str, dict]:
    """Write ``dst/{train,val}/*.png`` tiles and ``dst/annotations/instances_{train,val}.json``.

    Args:
        src: Folder with ``<name>.xml`` and ``<name>.png`` pairs (``data/real/deepforest``).
        dst: Output folder (``data/real/deepforest_coco``).
        tile, overlap: Tile size and overlap in px.
        min_visible: Keep a clipped box when at least this share of its area is inside the tile.
        val_images: Photo names (XML stems) that go to val; every other photo goes to train.
        class_map: VOC label -> class name; labels not in it raise ValueError.

    Returns:
        {split: the COCO dict written}.
    """
    import cv2
    class_map = dict(DEFAULT_CLASS_MAP if class_map is None else class_map)
    classes = sorted(set(class_map.values()))
    names = sorted(f[:-4] for f in os.listdir(src) if f.endswith('.xml'))
    if not names:
        raise FileNotFoundError(f'{src}: no VOC .xml annotations; run `make data` (tools/fetch_data.sh) first.')
    unknown = sorted(set(val_images) - set(names))
    if unknown:
        raise ValueError(f'val_images={list(val_images)!r}: {unknown} not among the photos in {src}: {names}')
    coco = {
        split: dict(images=[], annotations=[], categories=[dict(id=i + 1, name=c) for i, c in enumerate(classes)])
        for split in ('train', 'val')
    }
    for split in coco:
        os.makedirs(osp.join(dst, split), exist_ok=True)
    os.makedirs(osp.join(dst, 'annotations'), exist_ok=True)
    for name in names:
        split = 'val' if name in val_images else 'train'
        width, height, boxes, labels = read_voc_boxes(osp.join(src, name + '.xml'))
        missing = sorted(set(labels) - set(class_map))
        if missing:
            raise ValueError(f'{name}.xml: labels {missing} are not in class_map={class_map!r}')
        image = cv2.imread(osp.join(src, name + '.png'), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f'{osp.join(src, name + ".png")}: missing or unreadable image for {name}.xml')
        if image.shape[:2] != (height, width):
            raise ValueError(f'{name}: the image is {image.shape[1]}x{image.shape[0]}, its XML says {width}x{height}')
        category = np.array([classes.index(class_map[label]) + 1 for label in labels], dtype=int)
        for window in tile_windows(width, height, tile, overlap):
            x0, y0, x1, y1 = window
            file_name = f'{split}/{name}_x{x0}_y{y0}.png'
            cv2.imwrite(osp.join(dst, file_name), image[y0:y1, x0:x1])
            image_id = len(coco['train']['images']) + len(coco['val']['images']) + 1
            coco[split]['images'].append(
                dict(id=image_id, file_name=file_name, width=x1 - x0, height=y1 - y0, source=name))
            tile_boxes, keep = clip_boxes(boxes, window, min_visible)
            for box, cat in zip(tile_boxes, category[keep]):
                w, h = float(box[2] - box[0]), float(box[3] - box[1])
                coco[split]['annotations'].append(
                    dict(id=sum(len(c['annotations']) for c in coco.values()) + 1, image_id=image_id,
                         category_id=int(cat), bbox=[float(box[0]), float(box[1]), w, h], area=w * h, iscrowd=0))
    for split, data in coco.items():
        with open(osp.join(dst, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(data, f)
    return coco
