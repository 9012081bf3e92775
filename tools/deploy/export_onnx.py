"""Export an lwmm config's model to ONNX and check ONNX Runtime against PyTorch.

    python tools/deploy/export_onnx.py CONFIG [CHECKPOINT] --out FILE.onnx [--shape H W] [--batch N]
                                       [--static-batch] [--no-fuse] [--no-check] [--with-nms]
                                       [--score-thr T] [--iou-thr T] [--max-per-class K] [--opset 17]
                                       [--int8 --calib DIR [--calib-num N] [--int8-all-ops]]

The model is built from CONFIG (mmpretrain, mmdet or mmseg), loaded from CHECKPOINT if given, put in its
deploy form (BatchNorm folded into the convolutions, ``lwmm.deploy.switch_to_deploy``; --no-fuse skips
this), exported with the TorchScript exporter, then run by ONNX Runtime on the export batch and on a batch
of another size (the batch axis is dynamic unless --static-batch), and every output compared with
PyTorch's: the export fails when ``max|ort - torch| > 1e-5 + 1e-4 * max|torch|``. The max differences are
printed (--no-check skips the comparison).

Graph input ``input``: float32 (N, 3, H, W), the image *after* the config's data preprocessor (channel
order converted and mean/std normalised; the tool prints the values). H and W are fixed (--shape, default
224 224). Outputs by task:

- classifier (mmpretrain ImageClassifier): ``logits`` (N, num_classes), before softmax.
- detector (mmdet SSD/SSDLite, RetinaNet): the raw head outputs ``cls_score_0..L-1`` (N, A * C', H_l,
  W_l) then ``bbox_pred_0..L-1`` (N, A * 4, H_l, W_l) per pyramid level l, A anchors per location, C' the
  classes (+1 background, last, for SSD's softmax), box deltas encoded by the head's bbox_coder
  (DeltaXYWH with the config's means/stds).
  With --with-nms instead: ``boxes`` (N, P, 4) decoded (x1, y1, x2, y2) input pixels for all P priors,
  clipped; ``scores`` (N, P, C) class probabilities (sigmoid, or softmax without background);
  ``selected`` (M, 3) int64 rows (image, class, prior) kept by ONNX NonMaxSuppression with the config's
  test_cfg (score_thr, nms iou_threshold, max_per_img applied per image and class) unless overridden.
- segmentor (mmseg EncoderDecoder, e.g. DeepLabV3): ``seg_logits`` (N, num_classes, H, W), bilinearly
  resized to the input.

A failed export is one paragraph (``error: ...``): the operator, the modules calling it and, for an
adaptive pool whose output size does not divide its input (a PSP head on a small input), the sizes and the
smallest --shape that exports. The exporter's TorchScript graph dump goes to <out>.export-log.txt.

With --int8 the float graph is also quantized to int8 by ONNX Runtime's post-training static quantization
(lwmm/deploy/quantize.py, docs/int8.md) and written beside it as <out>.int8.onnx: QDQ format, per-channel
int8 weights, uint8 activations calibrated (min/max) on --calib-num images (default 64) of the folder
--calib, read with the config's test pipeline and data preprocessor. Dynamic-conv kernels and MatMuls of
two run-time tensors (attention) stay float unless --int8-all-ops. The tool prints, on those images, how far
the int8 outputs are from the float graph's (int8 is an approximation: no pass/fail).

DynamicConv2d layers are exported in a batch-independent form when the batch is dynamic (see
lwmm/deploy/onnx.py); --static-batch keeps their batch-folded grouped conv (faster, one batch size).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import torch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint to load (default: the initialised weights)')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'),
                        help='input height and width, fixed in the graph (default 224 224)')
    parser.add_argument('--batch', type=int, default=1, help='batch size of the export example (default 1)')
    parser.add_argument('--static-batch', action='store_true', help='fix the batch axis to --batch')
    parser.add_argument('--no-fuse', action='store_true', help='export without folding BatchNorm')
    parser.add_argument('--no-check', action='store_true', help='skip the ONNX Runtime comparison')
    parser.add_argument('--with-nms', action='store_true', help='detectors: decode boxes and add NMS')
    parser.add_argument('--score-thr', type=float, help='--with-nms: score threshold (default: test_cfg)')
    parser.add_argument('--iou-thr', type=float, help='--with-nms: IoU threshold (default: test_cfg)')
    parser.add_argument('--max-per-class', type=int, help='--with-nms: boxes per image and class '
                        '(default: test_cfg max_per_img)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset (default 17)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the example input')
    parser.add_argument('--int8', action='store_true', help='also write an int8 graph, <out>.int8.onnx')
    parser.add_argument('--calib', metavar='DIR', help='--int8: folder of calibration images')
    parser.add_argument('--calib-num', type=int, default=64, metavar='N',
                        help='--int8: calibration images taken from --calib, spread over it (default 64)')
    parser.add_argument('--int8-all-ops', action='store_true',
                        help='--int8: quantize dynamic kernels and attention MatMuls too (measured in docs/int8.md)')
    return parser.parse_args(argv)


def build_model(config: str, checkpoint: Optional[str] = None):
    """The config's model on CPU in eval mode, with the checkpoint's weights if one is given."""
    import lwmm  # noqa: F401  (registries and compatibility fixes)
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    if not osp.isfile(config):
        raise FileNotFoundError(f'config {config!r} does not exist; configs live under configs/.')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist; pass the path of a .pth file '
                                f'saved by tools/train.py, or leave it out to export initialised weights.')
    cfg = Config.fromfile(config)
    scope = cfg.get('default_scope')
    if scope not in ('mmpretrain', 'mmdet', 'mmseg'):
        raise ValueError(f'{config}: default_scope={scope!r}; export_onnx.py exports mmpretrain, mmdet and '
                         f'mmseg configs.')
    init_default_scope(scope)
    if cfg.get('data_preprocessor') and 'data_preprocessor' not in cfg.model:
        cfg.model.data_preprocessor = cfg.data_preprocessor  # as mmengine's Runner does (mmpretrain's layout)
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        from mmengine.logging import MMLogger
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel('WARNING')  # init_weights logs every parameter's initialiser at INFO
        try:
            model.init_weights()
        finally:
            logger.setLevel(level)
    else:
        from mmengine.runner import load_checkpoint

        from lwmm.engine.checkpoint_safety import mmengine_checkpoint_globals
        try:
            with mmengine_checkpoint_globals():  # weights-only, mmengine's own checkpoints included
                load_checkpoint(model, checkpoint, map_location='cpu', strict=False, logger='silent')
        except Exception as error:  # noqa: BLE001  (any unreadable file gets one clear message)
            raise ValueError(f'checkpoint {checkpoint!r} could not be loaded ({type(error).__name__}: '
                             f'{str(error).splitlines()[0] if str(error) else ""}); is it a complete '
                             f'.pth file saved by torch.save / tools/train.py?') from error
    return cfg, model.cpu().eval()


def preprocessing_note(cfg) -> str:
    pre = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    return (f'graph input = preprocessed image: mean={pre.get("mean")}, std={pre.get("std")}, '
            f'bgr_to_rgb={pre.get("bgr_to_rgb", pre.get("to_rgb", False))}')


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the tool; returns ``dict(out=path, outputs=names, reports=[...])`` (reports empty with --no-check)."""
    args = parse_args(argv)
    from lwmm.deploy import switch_to_deploy
    from lwmm.deploy.onnx import check_onnx, export_onnx, other_batch
    from lwmm.deploy.tasks import wrap_for_export

    if args.batch < 1 or min(args.shape) < 1:
        raise ValueError(f'--batch {args.batch} and --shape {args.shape} must be positive.')
    if not args.with_nms and any(v is not None for v in (args.score_thr, args.iou_thr, args.max_per_class)):
        raise ValueError('--score-thr, --iou-thr and --max-per-class apply only with --with-nms.')
    if args.int8:
        from lwmm.deploy.quantize import calibration_images, require_onnxruntime
        if args.no_fuse:
            raise ValueError('--int8 quantizes the BN-folded graph; leave out --no-fuse.')
        require_onnxruntime()
        calibration = calibration_images(args.calib, args.calib_num)  # fails before the export
    elif args.calib or args.int8_all_ops:
        raise ValueError('--calib and --int8-all-ops apply only with --int8.')
    cfg, model = build_model(args.config, args.checkpoint)
    nms_args = dict(score_thr=args.score_thr, iou_thr=args.iou_thr, max_per_class=args.max_per_class)
    wrapper = wrap_for_export(model, tuple(args.shape), args.with_nms,
                              **(nms_args if args.with_nms else {})).eval()
    if not args.no_fuse:
        switch_to_deploy(wrapper)
    generator = torch.Generator().manual_seed(args.seed)
    example = torch.randn(args.batch, 3, *args.shape, generator=generator)
    output_names = wrapper.output_names()
    dynamic_batch = not args.static_batch
    dynamic_axes = None
    if dynamic_batch and args.with_nms:  # 'selected' has one row per kept box, not one per image
        dynamic_axes = dict(input={0: 'batch'}, boxes={0: 'batch'}, scores={0: 'batch'},
                            selected={0: 'num_selected'})
    export_onnx(wrapper, example, args.out, output_names=output_names, dynamic_batch=dynamic_batch,
                opset=args.opset, check=False, dynamic_axes=dynamic_axes)
    print(f'exported {type(model).__name__} ({args.config}) to {args.out}; {preprocessing_note(cfg)}')
    reports = []
    if not args.no_check:
        from lwmm.deploy.onnx import OnnxExportError
        inputs = [example] + ([other_batch(example)] if dynamic_batch else [])
        reports = check_onnx(args.out, wrapper, inputs)
        for report in reports:
            print(f'  {report["name"]:<14} batch {report["batch"]}  shape {report["shape"]}  '
                  f'max|diff| {report["max_abs_diff"]:.3g}  max|y| {report["max_abs"]:.3g}  '
                  f'{"ok" if report["ok"] else "MISMATCH"}')
        bad = [r for r in reports if not r['ok']]
        if bad:
            raise OnnxExportError(f'ONNX Runtime differs from PyTorch on {", ".join(r["name"] for r in bad)} '
                                  f'(tolerance 1e-5 + 1e-4 * max|y|); the file {args.out} is not reliable.')
        print('ONNX Runtime matches PyTorch (max|diff| <= 1e-5 + 1e-4 * max|y| on every output).')
    result = dict(out=args.out, outputs=output_names, reports=reports)
    if args.int8:
        result['int8'] = quantize(args, cfg, model, wrapper, calibration)
    return result


def int8_path(out: str) -> str:
    return osp.splitext(out)[0] + '.int8.onnx'


def quantize(args, cfg, model, wrapper, calibration: List[str]) -> dict:
    """Write ``<out>.int8.onnx`` and print how far its outputs are from the float graph's."""
    import numpy as np
    import onnxruntime as ort

    from lwmm.deploy.quantize import (CalibrationReader, module_scopes, preprocessed_images, quantize_onnx,
                                      quantized_ops)
    from lwmm.models.layers.dynamic_conv import DynamicConv2d
    reader = CalibrationReader('input', preprocessed_images(cfg, model.data_preprocessor, calibration,
                                                            tuple(args.shape)),
                               batch=args.batch if args.static_batch else 1)
    out = int8_path(args.out)
    report = quantize_onnx(args.out, out, reader, dynamic_scopes=module_scopes(wrapper, DynamicConv2d),
                           keep_float=not args.int8_all_ops)
    kept = ', '.join(f'{len(v)} {k.replace("_", " ")}' for k, v in report['float_nodes'].items() if v)
    images, batch = sum(len(a) for a in reader.arrays), len(reader.arrays[0])
    print(f'int8: {out} calibrated on {images} images (batches of {batch}) of {args.calib}; '
          f'float nodes kept: {kept or "none"}; convs quantized: {report["quantized_ops"].get("Conv", 0)}')
    sessions = [ort.InferenceSession(path, providers=['CPUExecutionProvider']) for path in (args.out, out)]
    arrays = reader.arrays[:8]
    errors = []
    for index, name in enumerate(wrapper.output_names()):
        want = np.concatenate([sessions[0].run(None, {'input': a})[index] for a in arrays])
        have = np.concatenate([sessions[1].run(None, {'input': a})[index] for a in arrays])
        if not np.issubdtype(want.dtype, np.floating):
            continue
        relative = float(np.abs(want - have).max() / max(float(np.abs(want).max()), 1e-12))
        rms = float(np.sqrt(((want - have) ** 2).mean() / max(float((want ** 2).mean()), 1e-24)))
        errors.append(dict(name=name, relative_max_diff=relative, relative_rms_diff=rms))
        print(f'  {name:<14} int8 vs float on {len(arrays)} calibration images: max|diff| / max|y| {relative:.3g}, '
              f'rms(diff) / rms(y) {rms:.3g}')
    return dict(report, errors=errors)


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError, RuntimeError, ImportError) as error:
        print(f'error: {error}', file=sys.stderr)
        sys.exit(1)
