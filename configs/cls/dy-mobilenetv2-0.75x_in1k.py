# DY-MobileNetV2 x0.75: the x1.0 recipe. Published: 7.0M params, 217.5M MACs, 73.7 top-1.
_base_ = ['./dy-mobilenetv2-1.0x_in1k.py']
model = dict(backbone=dict(widen_factor=0.75))
