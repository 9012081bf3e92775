"""Fail early, and clearly, when a config's dataset folders are not where the config says."""
import os.path as osp
from typing import List

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


def missing_data_paths(cfg, loaders=('train_dataloader', 'val_dataloader', 'test_dataloader')) -> List[str]:
    """Describe each folder or annotation file the config's dataloaders need and that does not exist."""
    problems = []
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not loader_cfg:
            continue
        for dataset in _datasets(loader_cfg.get('dataset')):
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


def check_data_paths(cfg, loaders=('train_dataloader', 'val_dataloader', 'test_dataloader')) -> None:
    """Raise FileNotFoundError naming every missing folder, the expected layout, and the shapes tool."""
    problems = missing_data_paths(cfg, loaders)
    if problems:
        raise FileNotFoundError(
            'The dataset this config reads is not there:\n  ' + '\n  '.join(problems) +
            '\nDownload it into that layout (or link it there), point the config at it with '
            '--cfg-options train_dataloader.dataset.data_root=..., or try the pipeline on generated data: '
            '`python tools/make_shapes.py` writes data/shapes/ for the configs in configs/demo/.')
