# mmpretrain's MobileNetV3-Large 1.0 (the baseline GhostNet's paper beats) on Fashion-MNIST at 32x32 from
# scratch, the leaderboard's recipe (_base_/fashion_mnist_32.py); mmpretrain's head (1280, HSwish, dropout 0.2).
_base_ = ['mmpretrain::_base_/models/mobilenet_v3/mobilenet_v3_large_imagenet.py', './_base_/fashion_mnist_32.py']
model = dict(head=dict(num_classes=10, topk=(1, )))
