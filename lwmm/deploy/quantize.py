"""Post-training static int8 quantization of an exported ONNX graph with ONNX Runtime.

The float graph (BatchNorm already folded, :func:`lwmm.deploy.switch_to_deploy`) goes through ONNX Runtime's
pre-processing (ONNX shape inference and graph optimisation, ``quant_pre_process``), then
``quantize_static``: QDQ format (``QuantizeLinear``/``DequantizeLinear`` pairs around each quantized
operator, which ORT's CPU kernels fuse into integer kernels), weights per output channel (symmetric int8),
activations per tensor (asymmetric uint8, ranges from min/max over the calibration images). uint8
activations with int8 weights are what ORT's documentation recommends for x86 CPUs with VNNI; without VNNI,
``reduce_range`` avoids the saturation of 16-bit intermediate sums (Jacob et al., CVPR 2018, describe the
scheme; ORT's ``quantize_static`` docstring gives the CPU guidance).

Calibration images are read from a folder with the config's own test pipeline (annotation loading
dropped) and normalised by the model's data preprocessor, so they match what the graph's input means.

What stays float, and why:

- Dynamic convolutions (``DynamicConv2d``): their kernels are computed at run time from the input (the
  kernel attention mixes K kernels per sample), so there is no weight to quantize per channel; a
  per-tensor activation range over every sample's kernel would be the only option. Every node of such a
  layer (attention branch, kernel aggregation, the per-sample product) stays float.
- Products of two run-time tensors (``MatMul`` without a constant input): MobileViT's attention
  ``q k^T`` and ``attn v``. The softmax between them is not quantized either (ORT has no QDQ softmax).
- Operators outside :data:`QUANTIZED_OP_TYPES` (LayerNorm, Sigmoid/HardSigmoid gates, Mul, Add, Softmax,
  GlobalAveragePool...) run in float between a ``DequantizeLinear`` and a ``QuantizeLinear``.

``quantize_onnx(..., keep_float=False)`` quantizes those nodes too; docs/int8.md measures both.
"""
import os
import os.path as osp
import re
import tempfile
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
#: Operators quantized (ORT QDQ registry names): the compute-heavy ones with constant weights, and the
#: data-movement / monotone ones that let int8 flow between them without a float round trip.
QUANTIZED_OP_TYPES = ('Conv', 'Gemm', 'MatMul', 'Relu', 'Clip', 'MaxPool', 'AveragePool', 'Resize',
                      'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Slice', 'Pad', 'Split')
INSTALL_HINT = "pip install -e '.[deploy]' (installs onnx and onnxruntime)"


def require_onnxruntime():
    """``onnxruntime.quantization``, or ImportError naming the pip extra that installs it."""
    try:
        import onnx  # noqa: F401
        from onnxruntime import quantization
    except ImportError as error:
        raise ImportError(f'int8 quantization needs onnxruntime and onnx ({error}); install them with '
                          f'{INSTALL_HINT}.') from error
    return quantization


# -- calibration data -------------------------------------------------------------------------------------
def calibration_images(calib_dir: Optional[str], num: Optional[int] = None) -> List[str]:
    """The image files under ``calib_dir`` (recursively, sorted); ``num`` of them spread evenly over the
    sorted list (so every class folder contributes) when ``num`` is smaller than their count.

    Raises:
        FileNotFoundError: ``calib_dir`` is not a directory.
        ValueError: it holds no image, or ``num`` < 1.
    """
    if not calib_dir or not osp.isdir(calib_dir):
        raise FileNotFoundError(f'--calib {calib_dir!r} is not a directory; pass a folder of calibration images '
                                f'such as data/shapes/imagenet/train (python tools/make_shapes.py writes it).')
    if num is not None and num < 1:
        raise ValueError(f'--calib-num {num}: the number of calibration images must be at least 1.')
    files = sorted(
        osp.join(root, name) for root, _, names in os.walk(calib_dir) for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
        raise ValueError(f'--calib {calib_dir!r} holds no image ({", ".join(IMAGE_EXTENSIONS)}), in it or its '
                         f'sub-folders; point it at a folder of images like those the model will see.')
    if num is not None and num < len(files):
        files = [files[i * len(files) // num] for i in range(num)]
    return files


def test_pipeline(cfg) -> list:
    """The config's test (else val) pipeline without annotation loading: what an unlabelled image needs."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    dataset = (loader or {}).get('dataset', {})
    while 'pipeline' not in dataset and isinstance(dataset.get('dataset'), dict):  # dataset wrappers
        dataset = dataset['dataset']
    if 'pipeline' not in dataset:
        raise ValueError('the config has no test_dataloader.dataset.pipeline (nor a val one) to read the '
                         'calibration images with; add the test pipeline of the dataset the model serves.')
    return [t for t in dataset['pipeline'] if 'LoadAnnotations' not in str(t.get('type', ''))]


def preprocessed_images(cfg, data_preprocessor, paths: Sequence[str], size: Tuple[int, int]) -> Iterator[np.ndarray]:
    """Each image of ``paths`` as the graph's input: ``(1, 3, H, W)`` float32, read by the config's test
    pipeline and normalised by ``data_preprocessor`` (the model's), then bilinearly resized to ``size``
    where the pipeline gives another size (the graph's spatial size is fixed)."""
    import torch
    import torch.nn.functional as F
    from mmengine.dataset import Compose, pseudo_collate

    pipeline = Compose(test_pipeline(cfg))
    for index, path in enumerate(paths):
        results = pipeline(dict(img_path=path, img_id=index))
        if results is None:
            raise ValueError(f'the test pipeline dropped calibration image {path}.')
        with torch.no_grad():
            inputs = data_preprocessor(pseudo_collate([results]), False)['inputs']
        if tuple(inputs.shape[-2:]) != tuple(size):
            inputs = F.interpolate(inputs, size=tuple(size), mode='bilinear', align_corners=False)
        yield inputs.float().numpy()


class CalibrationReader:
    """ONNX Runtime's ``CalibrationDataReader`` protocol over input arrays (one per image), fed in batches of
    ``batch`` images: a graph exported with a fixed batch takes no other (the remainder is dropped)."""

    def __init__(self, input_name: str, arrays: Iterable[np.ndarray], batch: int = 1):
        self.input_name = input_name
        images = list(arrays)
        if batch < 1 or len(images) < batch:
            raise ValueError(f'the graph takes batches of {batch} images and calibration has {len(images)}: '
                             f'raise --calib-num to at least {batch} (and add images to --calib if needed).')
        self.arrays = [np.concatenate(images[i:i + batch]) for i in range(0, len(images) - batch + 1, batch)]
        self._next = iter(self.arrays)

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        array = next(self._next, None)
        return None if array is None else {self.input_name: array}

    def rewind(self) -> None:
        self._next = iter(self.arrays)

    def __len__(self) -> int:
        return len(self.arrays)


# -- which nodes stay float -------------------------------------------------------------------------------
def _path(name: str) -> str:
    """A module path or ONNX node name as ``/a/b/0/c/``. The TorchScript exporter names a node after the
    module path it was traced in, either repeating a container's name (``/layer1/layer1.0/conv``) or
    keeping nested indices in one part (``/stages.0.1/conv``); both become ``/layer1/0/conv/``."""
    parts, previous = [], None
    for part in name.strip('/').split('/'):
        raw = part
        if previous is not None and part.startswith(previous + '.'):
            part = part[len(previous) + 1:]
        parts.append(part.replace('.', '/'))
        previous = raw
    return '/' + '/'.join(parts) + '/'


def module_scopes(model, types) -> List[str]:
    """The paths (:func:`_path`) of ``model``'s submodules of ``types``: prefixes of their nodes' names."""
    return [_path(name) for name, module in model.named_modules() if name and isinstance(module, types)]


def _in_scope(node_name: str, scopes: Sequence[str]) -> bool:
    path = _path(node_name)
    return any(path.startswith(scope) for scope in scopes)


def float_nodes(graph_path: str, dynamic_scopes: Sequence[str] = ()) -> Dict[str, List[str]]:
    """Nodes to leave in float, by reason: ``dynamic_kernel`` (inside a ``DynamicConv2d``; ``dynamic_scopes``
    from :func:`module_scopes`) and ``activation_matmul`` (a MatMul of two run-time tensors)."""
    import onnx
    graph = onnx.load(graph_path, load_external_data=False).graph
    constants = {init.name for init in graph.initializer}
    constants |= {out for node in graph.node if node.op_type == 'Constant' for out in node.output}
    reasons = dict(dynamic_kernel=[], activation_matmul=[])
    for node in graph.node:
        if dynamic_scopes and _in_scope(node.name, dynamic_scopes):
            reasons['dynamic_kernel'].append(node.name)
        elif node.op_type == 'MatMul' and not any(name in constants for name in node.input):
            reasons['activation_matmul'].append(node.name)
    return reasons


# -- quantization -----------------------------------------------------------------------------------------
def quantize_onnx(fp32_path: str,
                  int8_path: str,
                  reader: CalibrationReader,
                  *,
                  dynamic_scopes: Sequence[str] = (),
                  keep_float: bool = True,
                  per_channel: bool = True,
                  reduce_range: bool = False,
                  preprocess: bool = True) -> dict:
    """Quantize the float graph ``fp32_path`` to ``int8_path`` (QDQ), calibrated on ``reader``'s inputs.

    Args:
        fp32_path: An exported float graph (BN folded).
        int8_path: Output file.
        reader: Calibration inputs (:class:`CalibrationReader`).
        dynamic_scopes: Node-name prefixes of dynamic convolutions (:func:`module_scopes`).
        keep_float: Leave dynamic kernels and run-time MatMuls in float (module docstring); False
            quantizes them and every operator ORT's QDQ quantizer knows.
        per_channel: One weight scale per output channel (else per tensor).
        reduce_range: 7-bit weights, for x86 CPUs without VNNI (see the module docstring).
        preprocess: Run ORT's ``quant_pre_process`` first (shape inference and graph optimisation).

    Returns:
        ``dict(path, float_nodes={reason: [names]}, quantized_ops={op_type: count})``, where
        ``quantized_ops`` counts the operators whose inputs are dequantized int8 in the output graph.
    """
    quantization = require_onnxruntime()
    import onnx
    if len(reader) == 0:
        raise ValueError('quantize_onnx: the calibration reader holds no input.')
    folder = osp.dirname(osp.abspath(int8_path))
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        source = fp32_path
        if preprocess:
            source = osp.join(tmp, 'preprocessed.onnx')
            # ONNX's own shape inference only: ORT's symbolic one gives up on Oct-ResNet-50's graph and then
            # dumps sym_shape_infer_temp.onnx and a 79 MB <uuid>.data into the caller's working directory.
            quantization.quant_pre_process(fp32_path, source, skip_symbolic_shape=True)
        excluded = float_nodes(source, dynamic_scopes) if keep_float else dict(dynamic_kernel=[],
                                                                                 activation_matmul=[])
        reader.rewind()
        quantization.quantize_static(
            source, int8_path, reader, quant_format=quantization.QuantFormat.QDQ,
            op_types_to_quantize=list(QUANTIZED_OP_TYPES) if keep_float else None, per_channel=per_channel,
            reduce_range=reduce_range, activation_type=quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8,
            nodes_to_exclude=[name for names in excluded.values() for name in names],
            calibrate_method=quantization.CalibrationMethod.MinMax,
            extra_options=dict(WeightSymmetric=True, ActivationSymmetric=False))
    return dict(path=int8_path, float_nodes=excluded, quantized_ops=quantized_ops(onnx.load(int8_path)))


def quantized_ops(model) -> Dict[str, int]:
    """{op_type: count} of the nodes of ``model`` (an ``onnx.ModelProto``) whose every input comes from a
    ``DequantizeLinear``: the operators ORT's CPU provider runs on int8 data once it fuses the QDQ pairs."""
    producer = {out: node.op_type for node in model.graph.node for out in node.output}
    counts: Dict[str, int] = {}
    for node in model.graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type in ('QuantizeLinear', 'DequantizeLinear') or not inputs:
            continue
        if all(producer.get(name) == 'DequantizeLinear' for name in inputs):
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def conv_quantization(model) -> List[dict]:
    """For each ``Conv`` of ``model``: whether its input and its weight come from ``DequantizeLinear`` and
    how many scales the weight has (per channel: one per output channel)."""
    producers = {out: node for node in model.graph.node for out in node.output}
    initializers = {init.name: init for init in model.graph.initializer}
    rows = []
    for node in model.graph.node:
        if node.op_type != 'Conv':
            continue
        x, w = (producers.get(name) for name in node.input[:2])
        scales = None
        if w is not None and w.op_type == 'DequantizeLinear' and w.input[1] in initializers:
            scales = int(np.prod(initializers[w.input[1]].dims)) if initializers[w.input[1]].dims else 1
        rows.append(dict(name=node.name, input_dequantized=x is not None and x.op_type == 'DequantizeLinear',
                         weight_dequantized=w is not None and w.op_type == 'DequantizeLinear',
                         weight_scales=scales))
    return rows
