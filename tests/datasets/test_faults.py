"""Dataset faults on the shapes data, broken on purpose, through each demo config's own train dataset and
pipeline (COCO detection, ADE20K segmentation, ImageNet-folder classification).

Each fault either works as mmdet / mmseg / mmpretrain would (a grayscale image is loaded as 3 channels, an
annotation of an unknown image id is ignored, ...) or stops with an error naming the file. The path is the
tools' path: ``check_data_paths`` (which tools/train.py and tools/test.py call, and which installs the
clearer loading errors), then the dataset built from the config, then ``dataset[i]``.
"""
import copy
import glob
import json
import os
import os.path as osp
import shutil
from argparse import Namespace

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, DefaultScope

from lwmm.datasets.checks import check_data_paths

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')
TASKS = {
    'det': dict(config='demo/ssdlite_ghostnetv2_shapes.py', copy='coco', root='coco', images='train2017'),
    'seg': dict(config='demo/deeplabv3_ghostnetv2_shapes.py', copy='ade', root='ade/ADEChallengeData2016',
                images='images/training'),
    'cls': dict(config='demo/ghostnet-1.0x_shapes.py', copy='imagenet', root='imagenet', images='train'),
}


@pytest.fixture(scope='module')
def configs():
    return {task: Config.fromfile(osp.join(CONFIGS, spec['config'])) for task, spec in TASKS.items()}


class Data:
    """A copy of one task's shapes data in tmp_path, and the config's train dataset on it."""

    def __init__(self, task, cfg, shapes_root, tmp_path):
        self.task, self.cfg = task, cfg
        shutil.copytree(osp.join(shapes_root, TASKS[task]['copy']), str(tmp_path / TASKS[task]['copy']))
        self.root = str(tmp_path / TASKS[task]['root'])
        self.dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset.to_dict())
        self.dataset_cfg['data_root'] = self.root
        # mmengine's serialisation runs gc.collect(), 0.6 s in a test process full of objects; it plays no
        # part in loading faults. The empty-dataset tests turn it back on (the default): it is where they fail.
        self.dataset_cfg['serialize_data'] = False

    def path(self, *parts):
        return osp.join(self.root, *parts)

    def check_paths(self):
        """What tools/train.py runs before it builds anything."""
        check_data_paths(Config(dict(train_dataloader=dict(dataset=self.dataset_cfg))), ('train_dataloader', ))

    def build(self):
        self.check_paths()
        with DefaultScope.overwrite_default_scope(self.cfg.default_scope):
            return DATASETS.build(copy.deepcopy(self.dataset_cfg))

    def load(self, dataset, index=0):
        with DefaultScope.overwrite_default_scope(self.cfg.default_scope):
            return dataset[index]


@pytest.fixture
def data(configs, shapes_root, tmp_path):
    return lambda task: Data(task, configs[task], shapes_root, tmp_path)


def images_of(data):
    return sorted(glob.glob(data.path(TASKS[data.task]['images'], '**', '*.jpg'), recursive=True))


def rewrite_coco(data, change):
    path = data.path('annotations', 'instances_train2017.json')
    with open(path) as f:
        content = json.load(f)
    change(content)
    with open(path, 'w') as f:
        json.dump(content, f)


def truncate(path):
    with open(path, 'rb') as f:
        content = f.read()
    with open(path, 'wb') as f:
        f.write(content[:len(content) // 3])


def random_bytes(path):
    with open(path, 'wb') as f:
        f.write(np.random.RandomState(0).bytes(2000))


def empty(path):
    open(path, 'wb').close()


# -- images that cannot be decoded: every task names the file and the fault -----------------------------------
@pytest.mark.parametrize('task', sorted(TASKS))
@pytest.mark.parametrize('damage, fault', [(truncate, 'OpenCV cannot decode'), (random_bytes, 'OpenCV cannot decode'),
                                           (empty, 'the file is empty (0 bytes)')])
def test_undecodable_image_names_the_file(data, task, damage, fault):
    data = data(task)
    dataset = data.build()
    path = dataset.get_data_info(0)['img_path']
    damage(path)
    with pytest.raises(ValueError) as error:
        data.load(dataset, 0)
    assert f"LoadImageFromFile: cannot read '{path}': {fault}" in str(error.value)


@pytest.mark.parametrize('task', sorted(TASKS))
def test_grayscale_image_is_loaded_as_three_channels(data, task):
    """As OpenMMLab's loaders do (cv2 'color' flag): a 1-channel JPEG becomes 3 equal channels."""
    data = data(task)
    dataset = data.build()
    path = dataset.get_data_info(0)['img_path']
    cv2.imwrite(path, cv2.imread(path, cv2.IMREAD_GRAYSCALE))
    assert cv2.imread(path, cv2.IMREAD_UNCHANGED).ndim == 2
    inputs = data.load(dataset, 0)['inputs']
    assert inputs.shape[0] == 3
    assert (inputs[0] == inputs[1]).all() and (inputs[1] == inputs[2]).all()


# -- detection (COCO) and segmentation (ADE20K): a file the annotations name is missing ----------------------
@pytest.mark.parametrize('task, key', [('det', 'img_path'), ('seg', 'seg_map_path')])
def test_missing_annotated_file_names_it(data, task, key):
    data = data(task)
    dataset = data.build()
    path = dataset.get_data_info(0)[key]
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=path):
        data.load(dataset, 0)


# -- detection (COCO) ---------------------------------------------------------------------------------------


def test_coco_annotation_naming_a_missing_image_names_it(data):
    data = data('det')
    rewrite_coco(data, lambda coco: coco['images'][0].update(file_name='not_there.jpg'))
    dataset = data.build()
    index = next(i for i in range(len(dataset)) if dataset.get_data_info(i)['img_path'].endswith('not_there.jpg'))
    with pytest.raises(FileNotFoundError, match='train2017/not_there.jpg'):
        data.load(dataset, index)


def test_coco_annotation_of_an_unknown_image_id_is_ignored(data):
    """pycocotools indexes annotations by image; mmdet lists images, so an orphan annotation is never read."""
    data = data('det')
    before = len(data.build())
    rewrite_coco(data, lambda coco: coco['annotations'].append(dict(coco['annotations'][0], id=10**6, image_id=10**6)))
    dataset = data.build()
    assert len(dataset) == before
    assert data.load(dataset, 0)['inputs'].shape[0] == 3


def test_coco_without_images_names_the_annotation_file(data):
    data = data('det')
    rewrite_coco(data, lambda coco: coco.update(images=[], annotations=[]))
    data.dataset_cfg['serialize_data'] = True
    with pytest.raises(ValueError, match=r"CocoDataset: found no samples \(ann_file='.*instances_train2017.json'"):
        data.build()


@pytest.mark.parametrize('damage, message', [(empty, r'is empty \(0 bytes\)'), (truncate, 'is not complete JSON')])
def test_coco_broken_annotation_file_is_named_before_loading(data, damage, message):
    data = data('det')
    path = data.path('annotations', 'instances_train2017.json')
    damage(path)
    with pytest.raises(ValueError, match=f"annotation file '{path}'.*{message}"):
        data.check_paths()


# -- segmentation (ADE20K layout) -----------------------------------------------------------------------------
def test_ade_image_without_its_file_is_not_listed(data):
    """mmseg lists the image folder: a deleted image is simply not a sample."""
    data = data('seg')
    before = len(data.build())
    os.remove(images_of(data)[0])
    dataset = data.build()
    assert len(dataset) == before - 1
    assert data.load(dataset, 0)['inputs'].shape[0] == 3


@pytest.mark.parametrize('damage', [truncate, random_bytes])
def test_ade_corrupt_segmentation_map_names_it(data, damage):
    data = data('seg')
    dataset = data.build()
    path = dataset.get_data_info(0)['seg_map_path']
    damage(path)
    with pytest.raises(ValueError, match=f"LoadAnnotations: cannot read '{path}': .* cannot decode"):
        data.load(dataset, 0)


def test_ade_without_images_names_the_folders(data):
    data = data('seg')
    for path in images_of(data):
        os.remove(path)
    data.dataset_cfg['serialize_data'] = True
    with pytest.raises(ValueError, match=r"BaseSegDataset: found no samples .*'img_path': '.*images/training'"):
        data.build()


# -- classification (ImageNet folder layout) -----------------------------------------------------------------
def test_folder_missing_image_is_not_listed_but_a_listed_one_is_named(data):
    """Without ann_file (the demo) the folder is scanned; with meta/train.txt (the ImageNet configs) a listed
    image that is missing is named."""
    data = data('cls')
    before = len(data.build())
    missing = images_of(data)[0]
    os.remove(missing)
    assert len(data.build()) == before - 1
    data.dataset_cfg.update(ann_file='meta/train.txt')
    dataset = data.build()
    index = next(i for i in range(len(dataset)) if dataset.get_data_info(i)['img_path'] == missing)
    with pytest.raises(FileNotFoundError, match=missing):
        data.load(dataset, index)


def test_folder_with_an_empty_class_dir_works_and_all_empty_names_the_folder(data):
    data = data('cls')
    classes = sorted(os.listdir(data.path('train')))
    for path in glob.glob(data.path('train', classes[0], '*')):
        os.remove(path)
    dataset = data.build()
    assert len(dataset) > 0 and all(dataset.get_data_info(i)['gt_label'] != 0 for i in range(len(dataset)))
    for path in glob.glob(data.path('train', '*', '*')):
        os.remove(path)
    with pytest.raises(RuntimeError, match="Found 0 files in subfolders of: {'img_path': '.*train'}"):
        data.build()


def test_training_stops_with_the_file_named_through_the_dataloader(data, tmp_path):
    """One real (tiny) training through tools' launch path: the worker's error reaches the user intact."""
    from lwmm.engine.launch import build_runner, load_config
    data = data('cls')
    dataset = data.build()
    path = dataset.get_data_info(0)['img_path']
    random_bytes(path)
    loader = dict(dataset=dict(data_root=data.root), batch_size=len(dataset), num_workers=1,
                  persistent_workers=False)
    cfg = load_config(Namespace(
        config=osp.join(CONFIGS, TASKS['cls']['config']), work_dir=str(tmp_path / 'work'), launcher='none',
        local_rank=0, cfg_options=dict(train_dataloader=loader, model=dict(backbone=dict(widen_factor=0.1),
                                                                           head=dict(in_channels=96)),
                                       train_cfg=dict(max_epochs=1, val_interval=10))))
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    check_data_paths(cfg, ('train_dataloader', ))
    runner = build_runner(cfg)
    with pytest.raises(ValueError, match=f"cannot read '{path}': OpenCV cannot decode"):
        runner.train()
