# Oct-MobileNetV2 1.0x, alpha 0.375, on ImageNet-1k (data/imagenet/). Published (Chen et al., ICCV 2019,
# facebookresearch/OctConv README): 3.5M params, 256M MACs, 72.0 top-1, trained with label smoothing and
# "Cosine (warm-up: 5 epochs, lr: 0.4)". Our count: 3.506M params, 254.0M MACs.
# The README gives no epoch count or weight decay for MobileNetV2: 150 epochs and MobileNetV2's 4e-5 are
# our choice. Batch 1024 (8 x 128), lr 0.4 for that batch; auto_scale_lr rescales other batch sizes.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py', '../_base_/default_runtime_cls.py']
model = dict(
    type='ImageClassifier',
    backbone=dict(type='lwmm.OctMobileNetV2', widen_factor=1.0, alpha=0.375),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1280,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original', loss_weight=1.0),
        topk=(1, 5)))
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

max_epochs = 150
warmup_epochs = 5
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.4, momentum=0.9, weight_decay=4e-5),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, eta_min=0, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=1024)
