# Oct-ResNet-26 with alpha 0, the plain ResNet-26 twin of oct-resnet26-a0.5_fashion-mnist.py (same recipe).
_base_ = ['./oct-resnet26-a0.5_fashion-mnist.py']
model = dict(backbone=dict(alpha=0.0))
