# DY-MobileNetV2 x1.0 (Chen et al., CVPR 2020; K = 4, reduction 4) on Fashion-MNIST at 32x32 from scratch,
# paired with mobilenetv2_fashion-mnist.py (the leaderboard's recipe, _base_/fashion_mnist_32.py). The
# temperature anneals 30 -> 1 over the first iterations; lwmm.analysis.leaderboard.apply_budget sets that
# length to a tenth of the run's iterations (the paper: the first 10 of 300 epochs, a thirtieth; short
# runs get longer, as the shapes demo's 3 of 10 epochs).
_base_ = ['./_base_/fashion_mnist_32.py']
model = dict(
    type='ImageClassifier',
    backbone=dict(type='lwmm.DYMobileNetV2', widen_factor=1.0, K=4, reduction=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='lwmm.DropoutLinearClsHead', num_classes=10, in_channels=1280, dropout_rate=0.2,
              loss=dict(type='CrossEntropyLoss'), topk=(1, )))
custom_hooks = [dict(type='lwmm.DynamicConvTemperatureHook', start=30, end=1, anneal_length=16, by_epoch=False)]
