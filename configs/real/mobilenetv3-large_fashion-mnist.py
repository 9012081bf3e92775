# mmpretrain's MobileNetV3-Large 1.0 (the baseline GhostNet's paper beats) on Fashion-MNIST at 32x32 from
# scratch, the leaderboard's recipe (_base_/fashion_mnist_32.py); mmpretrain's head (1280, HSwish, dropout 0.2).
_base_ = ['mmpretrain::_base_/models/mobilenet_v3/mobilenet_v3_large_imagenet.py', './_base_/fashion_mnist_32.py']
# BN momentum 0.1 (PyTorch's default, as every other leaderboard model) instead of mmpretrain's 0.01 for ImageNet's
# long runs: after this budget's 157 iterations 0.01 leaves the running statistics mostly those of the first steps,
# and the trained network tested at chance (10.7 %, training loss 0.45); recomputed statistics gave it 84.3 %.
model = dict(backbone=dict(norm_cfg=dict(type='BN', eps=0.001, momentum=0.1)), head=dict(num_classes=10, topk=(1, )))
