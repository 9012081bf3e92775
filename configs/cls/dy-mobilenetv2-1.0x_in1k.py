# DY-MobileNetV2 x1.0 on ImageNet-1k, the DY-CNN paper's recipe (Chen et al., CVPR 2020, Sec. 5.1):
# K = 4 kernels per dynamic conv, attention reduction 4; SGD (momentum 0.9), lr 0.05 with one cosine
# cycle to 0, weight decay 4e-5, 300 epochs, batch 256 (8 GPUs x 32), dropout 0.2 before the classifier
# (0.1 for x0.5 and x0.35); softmax temperature annealed 30 -> 1 over the first 10 epochs.
# Published: 11.1M params, 312.9M MACs, 75.2 top-1.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py', '../_base_/default_runtime_cls.py']

model = dict(
    type='ImageClassifier',
    backbone=dict(type='lwmm.DYMobileNetV2', widen_factor=1.0, K=4, reduction=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='lwmm.DropoutLinearClsHead',
        num_classes=1000,
        in_channels=1280,
        dropout_rate=0.2,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

max_epochs = 300
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=4e-5))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
custom_hooks = [dict(type='lwmm.DynamicConvTemperatureHook', start=30, end=1, anneal_length=10, by_epoch=True)]
