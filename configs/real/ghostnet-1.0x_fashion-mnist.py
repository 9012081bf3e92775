# GhostNet 1.0x (Han et al., CVPR 2020) on Fashion-MNIST at 32x32 from scratch, the leaderboard's recipe
# (_base_/fashion_mnist_32.py); the paper's head (1x1 conv to 1280 with bias, ReLU, dropout 0.2) with plain
# cross-entropy, as its pair mobilenetv3-large_fashion-mnist.py has.
_base_ = ['../_base_/models/ghostnet_cls.py', './_base_/fashion_mnist_32.py']
model = dict(head=dict(num_classes=10, loss=dict(_delete_=True, type='CrossEntropyLoss'), topk=(1, )))
