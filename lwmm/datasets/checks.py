"""Fail early, and clearly, when a config's dataset is not where, or not what, the config says.

- ``check_data_paths`` (tools/train.py and tools/test.py call it before building the Runner): every
  folder and annotation file a dataloader names exists, and JSON annotation files are complete (an
  empty or truncated download otherwise ends in ``JSONDecodeError: Expecting value: line 1 column 1``,
  which names no file).
- ``install_data_error_messages`` (called by ``check_data_paths``): OpenMMLab's loaders report an
  undecodable image as ``AssertionError: failed to load image`` (truncated / random bytes), as an OpenCV
  assertion ``!buf.empty() in function 'imdecode_'`` (a 0-byte file) or, for segmentation maps, as
  Pillow's ``cannot identify image file <_io.BytesIO ...>``; a dataset that finds no sample stops with
  numpy's ``need at least one array to concatenate``. These are re-raised as ValueErrors naming the
  file (or the annotation file and folders) and what is wrong with it. Nothing else changes: a file
  that decodes, a missing file (FileNotFoundError already names it) and every other error pass through.
"""
import functools
import os.path as osp
import sys
from typing import List, Optional

LAYOUTS = {
    'coco': 'data/coco/{annotations/instances_train2017.json, annotations/instances_val2017.json, '
            'train2017/, val2017/}',
    'ade': 'data/ade/ADEChallengeData2016/{images,annotations}/{training,validation}/',
    'imagenet': 'data/imagenet/{train,val}/<class>/*.JPEG (optionally meta/{train,val}.txt)',
    'voc': 'data/VOCdevkit/VOC2012/{JPEGImages,SegmentationClass,SegmentationClassAug,ImageSets/Segmentation}/',
}


def _guess_layout(dataset: dict) -> str:
    kind = str(dataset.get('type', '')).lower()
    for key, words in (('coco', ('coco', )), ('ade', ('ade', )), ('voc', ('voc', )),
                       ('imagenet', ('imagenet', 'custom'))):
        if any(word in kind for word in words):
            return LAYOUTS[key]
    return 'the layout its dataset type documents'


def _datasets(node):
    """Yield the innermost dataset dicts of a dataloader's ``dataset`` (through wrappers)."""
    if isinstance(node, dict):
        if 'dataset' in node:
            yield from _datasets(node['dataset'])
        elif 'datasets' in node:
            for child in node['datasets']:
                yield from _datasets(child)
        else:
            yield node
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from _datasets(child)


def _loader_datasets(cfg, loaders):
    """(loader name, leaf dataset config) for every dataset the named dataloaders of ``cfg`` read."""
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if loader_cfg:
            for dataset in _datasets(loader_cfg.get('dataset')):
                yield loader, dataset


def missing_data_paths(cfg, loaders=('train_dataloader', 'val_dataloader', 'test_dataloader')) -> List[str]:
    """Describe each folder or annotation file the config's dataloaders need and that does not exist."""
    problems = []
    for loader, dataset in _loader_datasets(cfg, loaders):
        root = dataset.get('data_root', '') or ''
        paths = [root] if root else []
        ann = dataset.get('ann_file')
        if ann:
            paths.append(ann if osp.isabs(ann) else osp.join(root, ann))
        prefix = dataset.get('data_prefix')
        if isinstance(prefix, dict):
            paths.extend(osp.join(root, p) for p in prefix.values() if isinstance(p, str) and p)
        elif isinstance(prefix, str) and prefix:
            paths.append(osp.join(root, prefix))
        for path in paths:
            if not osp.exists(path):
                problems.append(f'{loader}: {path!r} does not exist (dataset {dataset.get("type")}; '
                                f'expected layout: {_guess_layout(dataset)})')
                break
    return problems


def broken_annotation_files(cfg, loaders=('train_dataloader', 'val_dataloader', 'test_dataloader')) -> List[str]:
    """Describe each JSON annotation file of the config's dataloaders that is empty or incomplete."""
    problems = []
    for loader, dataset in _loader_datasets(cfg, loaders):
        ann, root = dataset.get('ann_file'), dataset.get('data_root', '') or ''
        problem = _json_problem(ann if not ann or osp.isabs(ann) else osp.join(root, ann))
        if problem:
            problems.append(f'{loader}: {problem}')
    return problems


def _json_problem(path: Optional[str]) -> Optional[str]:
    """Cheap completeness test of a JSON annotation file: not empty, starts and ends like JSON.

    Reads only the first and last bytes, so a 450 MB COCO file costs nothing here; a truncated download
    (the usual way such a file breaks) fails the end test.
    """
    if not path or not path.endswith('.json') or not osp.isfile(path):
        return None
    size = osp.getsize(path)
    if size == 0:
        return f'annotation file {path!r} is empty (0 bytes); re-create or re-download it'
    with open(path, 'rb') as f:
        head = f.read(64).lstrip()
        f.seek(max(0, size - 64))
        tail = f.read().rstrip()
    if head[:1] not in (b'{', b'[') or tail[-1:] not in (b'}', b']'):
        return (f'annotation file {path!r} ({size} bytes) is not complete JSON (it must start with {{ and end '
                f'with }}): it is truncated or not an annotation file; re-create or re-download it')
    return None


def check_data_paths(cfg, loaders=('train_dataloader', 'val_dataloader', 'test_dataloader')) -> None:
    """Raise FileNotFoundError naming every missing folder, the expected layout, and the shapes tool;
    ValueError naming an empty or truncated JSON annotation file.

    Also installs the clearer data errors (:func:`install_data_error_messages`) for the loading that follows.
    """
    install_data_error_messages()
    problems = missing_data_paths(cfg, loaders)
    if problems:
        raise FileNotFoundError(
            'The dataset this config reads is not there:\n  ' + '\n  '.join(problems) +
            '\nDownload it into that layout (or link it there), point the config at it with '
            '--cfg-options train_dataloader.dataset.data_root=..., or try the pipeline on generated data: '
            '`python tools/make_shapes.py` writes data/shapes/ for the configs in configs/demo/.')
    broken = broken_annotation_files(cfg, loaders)
    if broken:
        raise ValueError('An annotation file of this config is broken:\n  ' + '\n  '.join(broken))


# -- clearer errors while loading -------------------------------------------------------------------------
def image_file_problem(path: str) -> Optional[str]:
    """What is wrong with a local image file that exists, or None when OpenCV and Pillow both decode it."""
    try:
        size = osp.getsize(path)
    except (OSError, TypeError):  # missing (its own FileNotFoundError names it) or not a local path
        return None
    if size == 0:
        return 'the file is empty (0 bytes)'
    import cv2
    import numpy as np
    if cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED) is None:
        return f'OpenCV cannot decode its {size} bytes: it is truncated, corrupt or not an image'
    from PIL import Image
    try:
        with Image.open(path) as image:
            image.load()
    except Exception as error:  # noqa: BLE001  (any Pillow failure means the same to the user)
        return f'Pillow cannot decode its {size} bytes ({error}): it is truncated, corrupt or not an image'
    return None


def _name_the_file(method, key: str):
    """Wrap a loading method so that a decoding failure names the file ``results[key]`` and its fault."""

    @functools.wraps(method)
    def load(self, results, *args, **kwargs):
        try:
            return method(self, results, *args, **kwargs)
        except FileNotFoundError:
            raise
        except Exception as error:
            path = results.get(key) if isinstance(results, dict) else None
            problem = image_file_problem(path) if isinstance(path, str) else None
            if problem is None:  # the file is fine: the error is about something else
                raise
            raise ValueError(f'{type(self).__name__}: cannot read {path!r}: {problem}. Replace the file, or '
                             f"remove it from the dataset's folder / annotation file.") from error

    load._lwmm_names_file = True
    return load


def _name_empty_dataset(method):
    """Wrap ``BaseDataset._serialize_data``: an empty data list gets a message naming where it looked."""

    @functools.wraps(method)
    def serialize(self):
        if not self.data_list:
            raise ValueError(
                f'{type(self).__name__}: found no samples (ann_file={self.ann_file!r}, data_root='
                f'{self.data_root!r}, data_prefix={self.data_prefix!r}, filter_cfg={self.filter_cfg!r}): the '
                'annotation file lists no image, the image folder holds no file of the expected suffix, or '
                'filter_cfg removed every sample. Check those paths and files.')
        return method(self)

    serialize._lwmm_names_file = True
    return serialize


def _wrap(cls, name: str, wrapper, *args) -> None:
    method = getattr(cls, name)
    if not getattr(method, '_lwmm_names_file', False):
        setattr(cls, name, wrapper(method, *args))


def install_data_error_messages() -> None:
    """Make OpenMMLab's image loading and empty datasets fail with messages naming the file (idempotent).

    Applies to mmcv's ``LoadImageFromFile`` and ``LoadAnnotations`` (used by mmdet, mmseg and mmpretrain
    pipelines), mmseg's ``LoadAnnotations`` when mmseg is installed, and mmengine's ``BaseDataset``.
    """
    from mmcv.transforms import loading
    from mmengine.dataset import BaseDataset
    _wrap(loading.LoadImageFromFile, 'transform', _name_the_file, 'img_path')
    _wrap(loading.LoadAnnotations, '_load_seg_map', _name_the_file, 'seg_map_path')
    _wrap(BaseDataset, '_serialize_data', _name_empty_dataset)
    if 'mmseg' in sys.modules or _installed('mmseg'):
        from mmseg.datasets.transforms import loading as seg_loading
        _wrap(seg_loading.LoadAnnotations, '_load_seg_map', _name_the_file, 'seg_map_path')


def _installed(package: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(package) is not None
