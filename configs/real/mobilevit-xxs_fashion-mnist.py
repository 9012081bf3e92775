# MobileViT-XXS (Mehta & Rastegari, ICLR 2022) on Fashion-MNIST at 32x32 from scratch, paired with
# mobilenetv2_fashion-mnist.py under the same SGD one-cycle recipe (_base_/fashion_mnist_32.py), not the
# paper's AdamW: one recipe per pair. Its transformer stages see 4x4, 2x2 and 1x1 maps at this size (the
# 1x1 map is resized up to one 2x2 patch and back).
_base_ = ['./_base_/fashion_mnist_32.py']
model = dict(
    type='ImageClassifier',
    backbone=dict(type='lwmm.MobileViT', arch='xx_small', drop_rate=0.05),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='lwmm.DropoutLinearClsHead', num_classes=10, in_channels=320, dropout_rate=0.1,
              loss=dict(type='CrossEntropyLoss'), topk=(1, )))
