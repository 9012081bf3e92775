"""What the exported graph of each task computes: thin modules around an OpenMMLab model.

Every wrapper takes the tensor the model's data preprocessor produces (float ``(N, 3, H, W)``, channel
order converted and mean/std normalised as the config's ``data_preprocessor`` says) and returns plain
tensors, so ``export_onnx`` can export it:

- :class:`TensorMode`: any OpenMMLab model -> its ``mode='tensor'`` outputs as they are (the benchmark's
  timing and counting; :func:`tensor_mode` leaves other models unwrapped).
- :class:`ClassifierLogits`: mmpretrain ``ImageClassifier`` -> ``logits (N, num_classes)`` (before softmax).
- :class:`DetectorHeadOutputs`: mmdet single-stage detector with an anchor head (SSD/SSDLite, RetinaNet) ->
  per-level ``cls_score_i (N, A_i * C', H_i, W_i)`` then ``bbox_pred_i (N, A_i * 4, H_i, W_i)``, the raw
  head outputs (``C'`` = classes, +1 background for SSD's softmax).
- :class:`DetectorWithNMS`: the same, decoded with the priors and filtered by ONNX
  ``NonMaxSuppression`` -> ``boxes (N, P, 4)``, ``scores (N, P, C)``, ``selected (M, 3)``.
- :class:`SegmentorLogits`: mmseg ``EncoderDecoder`` -> ``seg_logits (N, num_classes, H, W)`` resized to
  the input, as ``EncoderDecoder.encode_decode``.
"""
import math
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


class TensorMode(nn.Module):
    """An OpenMMLab model's ``forward(x, mode='tensor')`` (raw outputs, no post-processing) as ``forward(x)``:
    the form export, tracing and timing take."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.train(model.training)  # so that saving and restoring the wrapper's mode keeps the model's

    def forward(self, x: torch.Tensor):
        return self.model(x, mode='tensor')


def tensor_mode(model: nn.Module) -> nn.Module:
    """``model`` wrapped in :class:`TensorMode` when it is an OpenMMLab model (mmengine ``BaseModel``), else
    ``model`` itself (timm, torchvision): either way ``forward(x)`` gives raw tensors."""
    from mmengine.model import BaseModel
    return TensorMode(model) if isinstance(model, BaseModel) else model


class ClassifierLogits(TensorMode):
    """``ImageClassifier`` in ``mode='tensor'``: the head's logits."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        return out[-1] if isinstance(out, (tuple, list)) else out

    def output_names(self) -> List[str]:
        return ['logits']


class DetectorHeadOutputs(nn.Module):
    """Backbone, neck and head of a single-stage detector: ``(*cls_scores, *bbox_preds)`` per level."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.model = detector

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        cls_scores, bbox_preds = self.model.bbox_head(self.model.extract_feat(x))[:2]
        return (*cls_scores, *bbox_preds)

    def output_names(self) -> List[str]:
        levels = self.model.bbox_head.prior_generator.num_levels
        return [f'cls_score_{i}' for i in range(levels)] + [f'bbox_pred_{i}' for i in range(levels)]


class _NonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression`` (opset >= 11) in the graph; torchvision's ``nms`` in PyTorch.

    ``boxes (N, P, 4)`` corners, ``scores (N, C, P)`` -> ``(M, 3)`` int64 rows ``(image, class, box)``,
    ordered by image, class, then score descending, at most ``max_per_class`` per image and class, only
    scores above ``score_thr``; a box is suppressed by a higher-scored one of IoU > ``iou_thr``.
    """

    @staticmethod
    def forward(ctx, boxes, scores, max_per_class: int, iou_thr: float, score_thr: float):
        from torchvision.ops import nms
        rows = []
        for image in range(scores.shape[0]):
            for label in range(scores.shape[1]):
                candidates = torch.nonzero(scores[image, label] > score_thr).flatten()
                keep = candidates[nms(boxes[image, candidates], scores[image, label, candidates], iou_thr)]
                keep = keep[:max_per_class]
                rows.append(torch.stack([torch.full_like(keep, image), torch.full_like(keep, label), keep], 1))
        return torch.cat(rows).long() if rows else boxes.new_zeros((0, 3), dtype=torch.long)

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class: int, iou_thr: float, score_thr: float):
        return g.op('NonMaxSuppression', boxes, scores,
                    g.op('Constant', value_t=torch.tensor([max_per_class], dtype=torch.long)),
                    g.op('Constant', value_t=torch.tensor([iou_thr], dtype=torch.float)),
                    g.op('Constant', value_t=torch.tensor([score_thr], dtype=torch.float)),
                    center_point_box_i=0)


def check_box_coder(coder) -> None:
    """ValueError unless ``coder`` is one :func:`decode_deltas` reproduces."""
    if type(coder).__name__ != 'DeltaXYWHBBoxCoder' or getattr(coder, 'add_ctr_clamp', False):
        raise ValueError(f'--with-nms decodes DeltaXYWHBBoxCoder boxes (SSD, RetinaNet) without add_ctr_clamp; '
                         f'this head uses {type(coder).__name__}. Export the raw head outputs instead.')


def decode_deltas(coder, priors: torch.Tensor, deltas: torch.Tensor, max_shape: Tuple[int, int]) -> torch.Tensor:
    """``(P, 4)`` priors and deltas -> boxes, as mmdet's ``delta2bbox`` for a ``DeltaXYWHBBoxCoder``.

    Written out because mmdet 3.3's export branch of the coder (``onnx_delta2bbox``) imports a module
    that no longer exists; and with out-of-place clamps only, which export cleanly.
    """
    deltas = deltas * deltas.new_tensor(coder.stds) + deltas.new_tensor(coder.means)
    centers = (priors[:, :2] + priors[:, 2:]) * 0.5
    sizes = priors[:, 2:] - priors[:, :2]
    max_ratio = abs(math.log(coder.wh_ratio_clip if hasattr(coder, 'wh_ratio_clip') else 16 / 1000))
    new_centers = centers + sizes * deltas[:, :2]
    new_sizes = sizes * deltas[:, 2:].clamp(min=-max_ratio, max=max_ratio).exp()
    boxes = torch.cat([new_centers - new_sizes * 0.5, new_centers + new_sizes * 0.5], dim=1)
    if coder.clip_border and max_shape is not None:
        height, width = max_shape
        boxes = torch.min(boxes.clamp(min=0), boxes.new_tensor([width, height, width, height]))
    return boxes


class DetectorWithNMS(nn.Module):
    """Raw head outputs decoded with the priors, then per-class NMS.

    Outputs:
        boxes (N, P, 4): every prior's decoded box ``(x1, y1, x2, y2)`` in input pixels, clipped to the
            input (the head's ``bbox_coder``, as mmdet's ``predict``).
        scores (N, P, C): class probabilities (sigmoid for RetinaNet; softmax without the background
            column for SSD).
        selected (M, 3): int64 ``(image, class, prior)`` of the boxes kept by ONNX ``NonMaxSuppression``
            with the config's ``test_cfg`` IoU threshold and score threshold, at most ``max_per_img``
            per image *and class*. Detection ``k`` is ``boxes[i, p]`` with score ``scores[i, p, c]`` for
            ``(i, c, p) = selected[k]``. Unlike mmdet's ``predict``, no ``nms_pre`` top-k before NMS and
            no per-image top-k after it: sort by score and cut where needed.

    The priors are computed once for the input size given (the graph's spatial size is fixed).
    """

    def __init__(self, detector: nn.Module, input_size: Tuple[int, int], score_thr: float = None,
                 iou_thr: float = None, max_per_class: int = None):
        super().__init__()
        self.model = detector
        head = detector.bbox_head
        for attr in ('prior_generator', 'bbox_coder'):
            if not hasattr(head, attr):
                raise ValueError(f'DetectorWithNMS: {type(head).__name__} has no {attr}; --with-nms supports '
                                 f'anchor heads (SSDHead, RetinaHead).')
        check_box_coder(head.bbox_coder)
        self.input_size = tuple(input_size)
        test_cfg = head.test_cfg or {}
        self.score_thr = float(test_cfg.get('score_thr', 0.05) if score_thr is None else score_thr)
        self.iou_thr = float(test_cfg.get('nms', {}).get('iou_threshold', 0.5) if iou_thr is None else iou_thr)
        self.max_per_class = int(test_cfg.get('max_per_img', 100) if max_per_class is None else max_per_class)
        with torch.no_grad():
            dummy = torch.zeros(1, 3, *self.input_size, device=next(detector.parameters()).device)
            cls_scores = head(detector.extract_feat(dummy))[0]
        sizes = [score.shape[-2:] for score in cls_scores]
        priors = head.prior_generator.grid_priors(sizes, device=dummy.device)
        self.register_buffer('priors', torch.cat([getattr(p, 'tensor', p) for p in priors]), persistent=False)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        head = self.model.bbox_head
        cls_scores, bbox_preds = head(self.model.extract_feat(x))[:2]
        batch = x.shape[0]
        logits = torch.cat([s.permute(0, 2, 3, 1).reshape(batch, -1, head.cls_out_channels) for s in cls_scores], 1)
        deltas = torch.cat([d.permute(0, 2, 3, 1).reshape(batch, -1, 4) for d in bbox_preds], 1)
        if head.use_sigmoid_cls:
            scores = logits.sigmoid()
        else:  # mmdet's softmax heads put the background last
            scores = F.softmax(logits, dim=-1)[..., :head.num_classes]
        priors = self.priors.repeat(batch, 1)
        boxes = decode_deltas(head.bbox_coder, priors, deltas.reshape(-1, 4), self.input_size).reshape(batch, -1, 4)
        selected = _NonMaxSuppression.apply(boxes, scores.transpose(1, 2).contiguous(), self.max_per_class,
                                            self.iou_thr, self.score_thr)
        return boxes, scores, selected

    def output_names(self) -> List[str]:
        return ['boxes', 'scores', 'selected']


class SegmentorLogits(nn.Module):
    """Encoder and decode head of an ``EncoderDecoder``, logits bilinearly resized to the input size."""

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.model = segmentor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model.decode_head(self.model.extract_feat(x))
        return F.interpolate(logits, size=x.shape[2:], mode='bilinear', align_corners=self.model.align_corners)

    def output_names(self) -> List[str]:
        return ['seg_logits']


def wrap_for_export(model: nn.Module, input_size: Tuple[int, int], with_nms: bool = False, **nms_args) -> nn.Module:
    """The wrapper of ``model``'s task (see the module docstring); ValueError for other model types."""
    name = type(model).__name__
    if hasattr(model, 'bbox_head') and hasattr(model, 'extract_feat') and not hasattr(model, 'roi_head'):
        head = model.bbox_head
        if not (hasattr(head, 'prior_generator') and hasattr(head, 'bbox_coder')):
            raise ValueError(f'export: the detector head {type(head).__name__} is not supported; lwmm exports '
                             f'single-stage anchor heads (SSDHead, RetinaHead).')
        return DetectorWithNMS(model, input_size, **nms_args) if with_nms else DetectorHeadOutputs(model)
    if with_nms:
        raise ValueError(f'export: with_nms applies to detectors only, not to {name}.')
    if hasattr(model, 'decode_head') and hasattr(model, 'extract_feat'):
        return SegmentorLogits(model)
    if hasattr(model, 'head') and hasattr(model, 'extract_feat') and hasattr(model, 'data_preprocessor'):
        return ClassifierLogits(model)
    raise ValueError(f'export: model type {name} is not supported; lwmm exports mmpretrain classifiers, '
                     f'single-stage mmdet detectors (SSD/SSDLite, RetinaNet) and mmseg EncoderDecoder '
                     f'segmentors.')
