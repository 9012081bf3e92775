import pytest
from mmengine.config import Config

from lwmm.datasets.checks import check_data_paths


def test_missing_dataset_names_folder_layout_and_tool(repo_root, tmp_path):
    cfg = Config.fromfile(f'{repo_root}/configs/det/ssdlite_ghostnetv2_coco.py')
    cfg.train_dataloader.dataset.dataset.data_root = str(tmp_path / 'nowhere') + '/'
    with pytest.raises(FileNotFoundError) as error:
        check_data_paths(cfg, ('train_dataloader', ))
    message = str(error.value)
    assert 'nowhere' in message and 'instances_train2017.json' in message and 'make_shapes.py' in message


def test_present_dataset_passes(repo_root, shapes_root):
    cfg = Config.fromfile(f'{repo_root}/configs/det/ssdlite_ghostnetv2_coco.py')
    cfg.train_dataloader.dataset.dataset.data_root = f'{shapes_root}/coco/'
    check_data_paths(cfg, ('train_dataloader', ))
