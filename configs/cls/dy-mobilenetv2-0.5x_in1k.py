# DY-MobileNetV2 x0.5: the x1.0 recipe with dropout 0.1. Published: 4.0M params, 101.4M MACs, 69.9 top-1.
_base_ = ['./dy-mobilenetv2-1.0x_in1k.py']
model = dict(backbone=dict(widen_factor=0.5), head=dict(dropout_rate=0.1))
