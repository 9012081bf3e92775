# Oct-ResNet-50, alpha 0.125: configs/cls/oct-resnet50-a0.5_in1k.py with another alpha.
# Published (Chen et al., ICCV 2019): 25.6M params, 3.6G MACs, 78.2 top-1. Our count: 25.557M, 3.565G.
_base_ = './oct-resnet50-a0.5_in1k.py'
model = dict(backbone=dict(alpha=0.125))
