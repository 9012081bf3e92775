# DY-ResNet-10: the DY-ResNet-18 recipe without dropout. Published: 18.6M params, 0.91G MACs, 67.7 top-1.
_base_ = ['./dy-resnet18_in1k.py']
model = dict(backbone=dict(depth=10), head=dict(dropout_rate=0.0))
