"""Load any lwmm config with a checkpoint and draw its predictions with the task codebase's own tools.

Models are built by the codebase's own initialisers (mmpretrain ``get_model``, mmdet ``init_detector``,
mmseg ``init_model``), predictions come from its inference path (mmpretrain
``ImageClassificationInferencer``, mmdet ``inference_detector``, mmseg ``inference_model``), and pictures
are drawn by its visualizer (``UniversalVisualizer``, ``DetLocalVisualizer``, ``SegLocalVisualizer``), so
a demo picture looks exactly like the ones ``tools/test.py --show-dir`` writes.
"""
import copy
import itertools
import os
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope

CODEBASES = ('mmpretrain', 'mmdet', 'mmseg')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
_visualizer_ids = itertools.count()


def read_config(config) -> Config:
    """A ``Config`` from a path or a ``Config``; checks that its codebase is one lwmm serves."""
    import lwmm  # noqa: F401  (registries and compatibility fixes before anything is built)
    if isinstance(config, Config):
        cfg = config
    else:
        if not osp.isfile(config):
            raise FileNotFoundError(f'config {config!r} does not exist; configs live under configs/ '
                                    '(cls/, det/, seg/, demo/).')
        cfg = Config.fromfile(config)
    scope = cfg.get('default_scope')
    if scope not in CODEBASES:
        raise ValueError(f'config {getattr(cfg, "filename", config)!r}: default_scope={scope!r} is not '
                         f'supported; use a classifier, detector or segmentor config of '
                         f'{", ".join(CODEBASES)} (inherit one of configs/_base_/default_runtime_*.py).')
    return cfg


def _config_metainfo(cfg: Config) -> dict:
    """The test dataset's ``metainfo`` written in the config (class names, palette), or {}."""
    for loader in ('test_dataloader', 'val_dataloader'):
        dataset = cfg.get(loader, {}).get('dataset', {})
        while isinstance(dataset, dict) and 'metainfo' not in dataset and 'dataset' in dataset:
            dataset = dataset['dataset']  # wrappers (RepeatDataset, ClassBalancedDataset)
        if isinstance(dataset, dict) and dataset.get('metainfo'):
            return dict(dataset['metainfo'])
    return {}


def load_model(config, checkpoint: Optional[str] = None, device: str = 'cpu') -> Tuple[nn.Module, Config]:
    """Build the model of ``config`` with the weights of ``checkpoint``, in eval mode on ``device``.

    Without a checkpoint the model keeps PyTorch's default initialisation (no pretrained download).
    Class names come from the checkpoint's ``meta.dataset_meta``, else from the config's test dataset
    ``metainfo``. A dynamic-conv checkpoint's softmax temperature (``meta.dynamic_conv_temperature``,
    written by ``DynamicConvTemperatureHook``) is restored.

    Returns:
        (model, cfg); ``model.dataset_meta`` holds ``classes`` (and ``palette`` where known).
    """
    cfg = read_config(config)
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist; pass the .pth file a training '
                                'run wrote (work_dirs/<name>/epoch_N.pth) or its last_checkpoint.')
    scope = cfg.default_scope
    cfg = copy.deepcopy(cfg)  # the caller's Config stays as it was
    backbone = cfg.model.get('backbone')
    if isinstance(backbone, dict) and backbone.get('init_cfg', {}) and \
            backbone['init_cfg'].get('type') == 'Pretrained':
        backbone['init_cfg'] = None  # the checkpoint (or nothing) gives the weights, never a download
    from lwmm.engine.checkpoint_safety import load_checkpoint_file, mmengine_checkpoint_globals
    with warnings.catch_warnings(), mmengine_checkpoint_globals():  # weights-only, as lwmm's Runner loads
        # the codebases warn that class names fall back to COCO / Cityscapes: replaced below
        warnings.simplefilter('ignore')
        if scope == 'mmpretrain':
            from mmpretrain.apis import get_model
            model = get_model(cfg, pretrained=checkpoint or False, device=device)
            meta = dict(getattr(model, '_dataset_meta', {}) or {})
        elif scope == 'mmdet':
            from mmdet.apis import init_detector
            model = init_detector(cfg, checkpoint, device=device, cfg_options={})
            meta = dict(model.dataset_meta)
        else:
            from mmseg.apis import init_model
            model = init_model(cfg, checkpoint, device=device)
            meta = dict(getattr(model, 'dataset_meta', None) or {})
    checkpoint_meta = {}
    if checkpoint is not None:
        checkpoint_meta = load_checkpoint_file(checkpoint).get('meta', {}) or {}
    config_meta = _config_metainfo(cfg)
    if 'dataset_meta' not in checkpoint_meta and config_meta.get('classes'):
        meta.update({key.lower(): value for key, value in config_meta.items()})
    if scope == 'mmdet' and 'palette' not in meta:
        meta['palette'] = 'random'
    model.dataset_meta = meta
    if scope == 'mmpretrain':
        model._dataset_meta = meta
    temperature = checkpoint_meta.get('dynamic_conv_temperature')
    if temperature is not None:
        from lwmm.engine.temperature import set_temperature
        set_temperature(model, temperature)
    model.eval()
    return model, cfg


def list_images(path: str) -> List[str]:
    """The image at ``path``, or the images directly inside the folder ``path`` (sorted)."""
    if osp.isdir(path):
        images = sorted(osp.join(path, name) for name in os.listdir(path)
                        if name.lower().endswith(IMAGE_EXTENSIONS))
        if not images:
            raise FileNotFoundError(f'folder {path!r} holds no image ({", ".join(IMAGE_EXTENSIONS)}).')
        return images
    if not osp.isfile(path):
        raise FileNotFoundError(f'image {path!r} does not exist; pass an image file or a folder of images.')
    return [path]


def read_image(path: str) -> np.ndarray:
    """The image at ``path`` as BGR uint8 (H, W, 3), as the codebases' ``LoadImageFromFile`` reads it."""
    import mmcv
    image = mmcv.imread(path, channel_order='bgr')
    if image is None:
        raise ValueError(f'image {path!r} could not be decoded; use a JPEG, PNG or BMP file.')
    return image


class Predictor:
    """Predict and draw with one loaded model; ``draw(image_path, out_file)`` writes one picture.

    Args:
        model, cfg: From :func:`load_model`.
        score_thr (float): Detection: boxes scoring below are not drawn.
        opacity (float): Segmentation: opacity of the mask over the image, in (0, 1].
        topk (int): Classification: how many classes (best first) to print on the image.
    """

    def __init__(self, model: nn.Module, cfg: Config, score_thr: float = 0.3, opacity: float = 0.5,
                 topk: int = 1):
        if not 0 <= score_thr <= 1:
            raise ValueError(f'score_thr={score_thr!r} must be in [0, 1] (a detection score).')
        if not 0 < opacity <= 1:
            raise ValueError(f'opacity={opacity!r} must be in (0, 1].')
        if topk < 1:
            raise ValueError(f'topk={topk!r} must be a positive int.')
        self.model, self.cfg, self.scope = model, cfg, cfg.default_scope
        self.score_thr, self.opacity, self.topk = score_thr, opacity, topk
        name = f'lwmm_demo_{next(_visualizer_ids)}'
        meta = model.dataset_meta
        with DefaultScope.overwrite_default_scope(self.scope):
            self._build_tools(name, meta)

    def _build_tools(self, name: str, meta: dict) -> None:
        if self.scope == 'mmpretrain':
            from mmpretrain.apis import ImageClassificationInferencer
            from mmpretrain.visualization import UniversalVisualizer
            self.inferencer = ImageClassificationInferencer(model=self.model,
                                                            device=next(self.model.parameters()).device)
            self.visualizer = UniversalVisualizer(name=name)
        elif self.scope == 'mmdet':
            from mmdet.visualization import DetLocalVisualizer
            self.visualizer = DetLocalVisualizer(name=name)
            self.visualizer.dataset_meta = meta
        else:
            from mmseg.visualization import SegLocalVisualizer
            self.visualizer = SegLocalVisualizer(name=name, alpha=self.opacity)
            self.visualizer.set_dataset_meta(meta.get('classes'), meta.get('palette'))

    @torch.no_grad()
    def predict(self, image_path: str):
        """The codebase's data sample of predictions for one image file."""
        # the pipelines are built in the default scope, which another model loaded since may have changed
        with DefaultScope.overwrite_default_scope(self.scope):
            return self._predict(image_path)

    def _predict(self, image_path: str):
        if self.scope == 'mmpretrain':
            return self.inferencer(image_path, return_datasamples=True)[0]
        if self.scope == 'mmdet':
            from mmdet.apis import inference_detector
            return inference_detector(self.model, image_path)
        from mmseg.apis import inference_model
        return inference_model(self.model, image_path)

    def draw(self, image_path: str, out_file: str):
        """Predict on ``image_path`` and write the picture to ``out_file``; returns the data sample."""
        sample = self.predict(image_path)
        image = read_image(image_path)[..., ::-1].copy()  # the visualizers draw on RGB
        out_dir = osp.dirname(osp.abspath(out_file))
        os.makedirs(out_dir, exist_ok=True)
        name = osp.basename(image_path)
        if self.scope == 'mmpretrain':
            if self.topk > 1 and 'pred_score' in sample:
                scores = sample.pred_score
                best = scores.topk(min(self.topk, scores.numel())).indices
                sample.set_pred_label(best)
            self.visualizer.visualize_cls(image, sample, classes=self.model.dataset_meta.get('classes'),
                                          draw_gt=False, out_file=out_file, name=name)
        elif self.scope == 'mmdet':
            self.visualizer.add_datasample(name, image, sample, draw_gt=False, out_file=out_file,
                                           pred_score_thr=self.score_thr)
        else:
            self.visualizer.add_datasample(name, image, sample, draw_gt=False, out_file=out_file,
                                           with_labels=True)
        return sample


def output_paths(inputs: Sequence[str], out: str, input_is_folder: bool) -> List[str]:
    """Where each input's picture goes: ``out`` itself for one image, ``out/<stem>.png`` for a folder."""
    if not input_is_folder:
        return [out]
    if osp.splitext(out)[1].lower() in IMAGE_EXTENSIONS:
        raise ValueError(f'--out {out!r}: the input is a folder, so --out must be a folder too.')
    return [osp.join(out, osp.splitext(osp.basename(path))[0] + '.png') for path in inputs]
