# DY-ResNet-18 on ImageNet-1k, the DY-CNN paper's recipe (Chen et al., CVPR 2020, Sec. 5.1): K = 4,
# attention reduction 4; SGD (momentum 0.9), lr 0.1 divided by 10 at epochs 30, 60 and 90, weight decay
# 1e-4, 100 epochs, batch 256 (8 GPUs x 32), dropout 0.1 before the last layer; temperature 30 -> 1 over
# the first 10 epochs. Published: 42.7M params, 1.85G MACs, 72.7 top-1.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py', '../_base_/default_runtime_cls.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(type='lwmm.DYResNet', depth=18, K=4, reduction=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='lwmm.DropoutLinearClsHead',
        num_classes=1000,
        in_channels=512,
        dropout_rate=0.1,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
custom_hooks = [dict(type='lwmm.DynamicConvTemperatureHook', start=30, end=1, anneal_length=10, by_epoch=True)]
