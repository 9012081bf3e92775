# DY-MobileNetV2 x0.35: the x1.0 recipe with dropout 0.1. Published: 2.8M params, 62.0M MACs, 65.9 top-1
# (lwmm's count: 2.69M, 60.5M; see docs/dynamic_conv.md).
_base_ = ['./dy-mobilenetv2-1.0x_in1k.py']
model = dict(backbone=dict(widen_factor=0.35), head=dict(dropout_rate=0.1))
