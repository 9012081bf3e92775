"""Load any lwmm config with a checkpoint and draw its predictions with the task codebase's own tools.

Models are built by the codebase's own initialisers (mmpretrain ``get_model``, mmdet ``init_detector``,
mmseg ``init_model``), predictions come from its inference path (mmpretrain
``ImageClassificationInferencer``, mmdet ``inference_detector``, mmseg ``inference_model``), and pictures
are drawn by its visualizer (``UniversalVisualizer``, ``SegLocalVisualizer``), as ``tools/test.py --show-dir``
draws them; detections are drawn by :func:`draw_detections`, whose labels stay legible where boxes overlap
(mmdet's visualizer draws the best box's label first, under the others, and its percentages without ``%``).
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
        elif self.scope == 'mmseg':
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

    def describe(self, sample) -> List[str]:
        """:func:`describe` of one of this model's data samples, with its class names and thresholds."""
        return describe(sample, self.scope, (self.model.dataset_meta or {}).get('classes'), self.score_thr,
                        self.topk)

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
            import mmcv
            pred = sample.pred_instances.cpu()
            meta = self.model.dataset_meta or {}
            picture, _ = draw_detections(image, pred.bboxes.numpy(), pred.scores.numpy(), pred.labels.numpy(),
                                         meta.get('classes'), meta.get('palette'), self.score_thr)
            mmcv.imwrite(picture[..., ::-1], out_file)
        else:
            self.visualizer.add_datasample(name, image, sample, draw_gt=False, out_file=out_file,
                                           with_labels=True)
        return sample


def _class_name(classes, label: int) -> str:
    return str(classes[label]) if classes is not None and 0 <= label < len(classes) else f'class {label}'


def describe(sample, scope: str, classes=None, score_thr: float = 0.3, topk: int = 1) -> List[str]:
    """One line per prediction of a data sample, best first; scores as percentages with ``%``.

    Classifier: the ``topk`` classes and scores. Detector: each box scoring at least ``score_thr``: class,
    score, box ``(x1, y1, x2, y2)`` in image pixels. Segmentor: each predicted class with its area in pixels
    and as a share of the image.
    """
    if scope == 'mmpretrain':
        scores = sample.pred_score.detach().cpu()
        best = scores.topk(min(topk, scores.numel()))
        return [f'{_class_name(classes, int(i))}  {100 * float(v):.1f}%' for v, i in zip(*best)]
    if scope == 'mmdet':
        pred = sample.pred_instances
        order = torch.argsort(pred.scores.detach().cpu(), descending=True)
        lines = []
        for i in order.tolist():
            score = float(pred.scores[i])
            if score < score_thr:
                continue
            x1, y1, x2, y2 = (round(float(v)) for v in pred.bboxes[i])
            lines.append(f'{_class_name(classes, int(pred.labels[i]))}  {100 * score:.1f}%  '
                         f'box ({x1}, {y1}, {x2}, {y2})')
        return lines
    mask = sample.pred_sem_seg.data.detach().cpu().flatten()
    labels, areas = torch.unique(mask, return_counts=True)
    return [f'{_class_name(classes, int(label))}  area {int(area)} px ({100 * int(area) / mask.numel():.1f}%)'
            for area, label in sorted(zip(areas.tolist(), labels.tolist()), reverse=True)]


def _colour(label: int, palette=None) -> Tuple[int, int, int]:
    if palette is not None and 0 <= label < len(palette):
        return tuple(int(c) for c in palette[label])
    return tuple(int(c) for c in np.random.RandomState(label + 1).randint(64, 256, 3))


def draw_detections(image: np.ndarray, bboxes, scores, labels, classes=None, palette=None,
                    score_thr: float = 0.3, font_scale: float = 0.4) -> Tuple[np.ndarray, list]:
    """Boxes and ``class score%`` labels on a copy of an RGB image, legible where boxes overlap.

    Boxes are drawn from the lowest score up and each label right after its box, so a better box and label
    lie over worse ones and the best label is drawn last, uncovered. A label sits on an opaque background in
    its box's colour, inside the box's top-left corner, moved inside the image where the box reaches its edge.

    Returns:
        The picture and, per drawn box in drawing order, ``(score, (x1, y1, x2, y2))`` of its label's background.
    """
    import cv2
    canvas = np.ascontiguousarray(image.copy())
    height, width = canvas.shape[:2]
    scores = np.asarray(scores, dtype=float)
    label_boxes = []
    for i in np.argsort(scores, kind='stable'):
        if scores[i] < score_thr:
            continue
        label = int(labels[i])
        colour = _colour(label, palette)
        x1, y1, x2, y2 = (int(round(float(v))) for v in bboxes[i])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 1)
        text = f'{_class_name(classes, label)} {100 * scores[i]:.1f}%'
        (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        box_w, box_h = text_w + 2, text_h + baseline + 2
        left = min(max(x1, 0), max(width - box_w, 0))
        top = min(max(y1, 0), max(height - box_h, 0))
        cv2.rectangle(canvas, (left, top), (left + box_w - 1, top + box_h - 1), colour, -1)
        ink = (0, 0, 0) if sum(colour) > 382 else (255, 255, 255)
        cv2.putText(canvas, text, (left + 1, top + 1 + text_h), cv2.FONT_HERSHEY_SIMPLEX, font_scale, ink, 1,
                    cv2.LINE_AA)
        label_boxes.append((float(scores[i]), (left, top, left + box_w, top + box_h)))
    return canvas, label_boxes


def output_paths(inputs: Sequence[str], out: str, input_is_folder: bool) -> List[str]:
    """Where each input's picture goes: ``out`` itself for one image, ``out/<stem>.png`` for a folder."""
    if not input_is_folder:
        return [out]
    if osp.splitext(out)[1].lower() in IMAGE_EXTENSIONS:
        raise ValueError(f'--out {out!r}: the input is a folder, so --out must be a folder too.')
    return [osp.join(out, osp.splitext(osp.basename(path))[0] + '.png') for path in inputs]
