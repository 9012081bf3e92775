# Oct-ResNet-50, alpha 0.75: configs/cls/oct-resnet50-a0.5_in1k.py with another alpha.
# Published (Chen et al., ICCV 2019): 25.6M params, 1.9G MACs, 76.7 top-1. Our count: 25.557M, 1.880G.
_base_ = './oct-resnet50-a0.5_in1k.py'
model = dict(backbone=dict(alpha=0.75))
