# Oct-ResNet-26, alpha 0.5 (Chen et al., ICCV 2019) on Fashion-MNIST at 32x32 from scratch, paired with its
# alpha 0 twin oct-resnet26-a0_fashion-mnist.py (the same network with no low-frequency part), the
# leaderboard's recipe (_base_/fashion_mnist_32.py). At 32 px the stem leaves 8x8 maps, so the low-frequency
# half works at 4x4 down to 1x1.
_base_ = ['../_base_/models/oct_resnet50_cls.py', './_base_/fashion_mnist_32.py']
model = dict(backbone=dict(depth=26, alpha=0.5), head=dict(num_classes=10, topk=(1, )))
