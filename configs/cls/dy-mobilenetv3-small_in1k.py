# DY-MobileNetV3-Small on ImageNet-1k, the DY-CNN paper's recipe (Chen et al., CVPR 2020, Sec. 5.1):
# K = 4, attention reduction 4; SGD (momentum 0.9), lr 0.1 with one cosine cycle to 0, weight decay 3e-5,
# 300 epochs, batch 256 (8 GPUs x 32), dropout 0.2 before the last layer; temperature 30 -> 1 over the
# first 10 epochs. Head 576 -> 1280 (hard-swish) -> 1000: the DY-CNN paper's MobileNetV3-Small baseline
# (2.9M params) is the network with this head (2.95M), not with the MobileNetV3 paper's 1024 (2.54M).
# Published: 4.8M params, 68.5M MACs, 70.3 top-1 (its baseline: 2.9M / 66.0M; see docs/dynamic_conv.md).
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py', '../_base_/default_runtime_cls.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(type='lwmm.DYMobileNetV3', arch='small', K=4, reduction=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='StackedLinearClsHead',
        num_classes=1000,
        in_channels=576,
        mid_channels=[1280],
        dropout_rate=0.2,
        act_cfg=dict(type='HSwish'),
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        init_cfg=dict(type='Normal', layer='Linear', mean=0., std=0.01, bias=0.),
        topk=(1, 5)))

max_epochs = 300
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-5))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
custom_hooks = [dict(type='lwmm.DynamicConvTemperatureHook', start=30, end=1, anneal_length=10, by_epoch=True)]
