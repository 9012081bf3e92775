"""int8 against float32 ONNX graphs: ONNX Runtime latency, and the config's metric on its test split.

Used by tools/analysis/benchmark_int8.py (docs/int8.md). Latency: the two graphs of one model timed in
alternation (:func:`lwmm.analysis.timing.time_interleaved`), per thread count and batch size, median of the
repeats. With one ORT thread the clock may be the calling thread's CPU time (ORT runs single-threaded work
on the caller), which leaves out the time a loaded machine kept the thread waiting; with more threads only
the wall clock measures the work.

Accuracy: each graph runs on the config's test dataset (its own pipeline and the model's data
preprocessor) and the outputs go through the model's own post-processing (mmpretrain scores, mmdet's
``predict_by_feat`` with the test_cfg) into the config's evaluator, so the figure is the one tools/test.py
prints for the PyTorch model.
"""
from typing import Callable, Dict, List, Sequence

import numpy as np


def ort_session(path: str, threads: int = 1):
    """A CPU ``InferenceSession`` of ``path`` with ``threads`` intra-op threads and one inter-op thread."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def latency(paths: Dict[str, str], shape: Sequence[int], batches: Sequence[int] = (1, 32),
            threads: Sequence[int] = (1, 2), repeats: int = 10, warmup: int = 2, clock: str = 'auto') -> List[dict]:
    """Median latency of each graph of ``paths`` ({label: file}, timed in alternation) per thread count and
    batch size. ``clock``: 'wall', 'cpu' or 'auto' (the CPU clock at one thread, else wall).

    Returns:
        One dict per (threads, batch, label): threads, batch, label, clock, and timing.summarize's fields.
    """
    from .timing import get_clock, summarize, time_interleaved
    rows = []
    generator = np.random.default_rng(0)
    for count in threads:
        clock_name = ('cpu' if count == 1 else 'wall') if clock == 'auto' else clock
        if clock_name == 'cpu' and count != 1:
            raise ValueError(f"clock='cpu' measures one thread only; threads={count} needs clock='wall'.")
        sessions = {label: ort_session(path, count) for label, path in paths.items()}
        for batch in batches:
            x = generator.standard_normal((batch, 3, *shape)).astype(np.float32)
            fns = [lambda s=session: s.run(None, {s.get_inputs()[0].name: x}) for session in sessions.values()]
            samples = time_interleaved(fns, warmup, repeats, get_clock(clock_name))
            for label, seconds in zip(sessions, samples):
                rows.append(dict(threads=count, batch=batch, label=label, clock=clock_name, **summarize(seconds)))
    return rows


def _task(model) -> str:
    if hasattr(model, 'bbox_head'):
        return 'detector'
    if hasattr(model, 'decode_head'):
        return 'segmentor'
    return 'classifier'


def evaluate(cfg, model, run: Callable[[np.ndarray], List[np.ndarray]], batch_size: int = 16,
             max_images: int = None) -> Dict[str, float]:
    """The config's test metric of ``run`` (preprocessed ``(N, 3, H, W)`` -> the exported graph's outputs)
    on the config's test dataset; ``model`` supplies the data preprocessor and the post-processing.

    Classifiers: softmax scores into the evaluator (top-1 as mmpretrain's Accuracy). Detectors (raw head
    outputs: ``L`` class score maps then ``L`` box maps): ``bbox_head.predict_by_feat`` with rescaling to the
    original image, as ``predict``. Segmentors: ``seg_logits`` through ``postprocess_result``.
    """
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.evaluator import Evaluator
    from mmengine.registry import DATASETS

    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    dataset = DATASETS.build(loader['dataset'])
    evaluator = Evaluator(cfg.get('test_evaluator') or cfg.get('val_evaluator'))
    evaluator.dataset_meta = dataset.metainfo
    task = _task(model)
    count = len(dataset) if max_images is None else min(max_images, len(dataset))
    for start in range(0, count, batch_size):
        data = pseudo_collate([dataset[i] for i in range(start, min(start + batch_size, count))])
        with torch.no_grad():
            data = model.data_preprocessor(data, False)
        outputs = [torch.from_numpy(np.asarray(o)) for o in run(data['inputs'].float().numpy())]
        samples = data['data_samples']
        with torch.no_grad():
            if task == 'classifier':
                scores = torch.softmax(outputs[0], dim=1)
                for sample, score in zip(samples, scores):
                    sample.set_pred_score(score).set_pred_label(score.argmax(keepdim=True))
            elif task == 'detector':
                levels = len(outputs) // 2
                results = model.bbox_head.predict_by_feat(
                    outputs[:levels], outputs[levels:], batch_img_metas=[s.metainfo for s in samples], rescale=True)
                for sample, result in zip(samples, results):
                    sample.pred_instances = result
            else:
                samples = model.postprocess_result(outputs[0], samples)
        evaluator.process(data_samples=samples, data_batch=data)
    return evaluator.evaluate(count)


def onnx_runner(path: str, threads: int = 2) -> Callable[[np.ndarray], List[np.ndarray]]:
    """``run`` for :func:`evaluate`: the graph at ``path`` in ONNX Runtime."""
    session = ort_session(path, threads)
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})
