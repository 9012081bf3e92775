"""Deployment: BN folding (:func:`switch_to_deploy`) and ONNX export with an ONNX Runtime check
(:func:`export_onnx`). See docs/deploy.md."""
from .fuse import fold_bn_into_conv, fuse_conv_bn, randomize_norms, switch_to_deploy, unfused_norms  # noqa: F401
from .onnx import OnnxExportError, export_onnx  # noqa: F401
