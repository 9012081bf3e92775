# mmpretrain's MobileNetV2 1.0 (the baseline of MobileViT and of DY-MobileNetV2) on Fashion-MNIST at 32x32
# from scratch, the leaderboard's recipe (_base_/fashion_mnist_32.py).
_base_ = ['mmpretrain::_base_/models/mobilenet_v2_1x.py', './_base_/fashion_mnist_32.py']
model = dict(head=dict(num_classes=10, topk=(1, )))
