# MobileViT-S on ImageNet-1k, the paper's recipe (Mehta & Rastegari, ICLR 2022; ml-cvnets'
# config/classification/mobilevit_small.yaml): 300 epochs, 8 GPUs x 128 images at 256 px, multi-scale
# sampler over 160/192/256/288/320 px (per-GPU batch 327/227/128/101/81), AdamW (wd 0.01), lr warm-up
# 0.0002 -> 0.002 over 3k iterations then cosine to 0.0002, label smoothing 0.1, EMA 0.0005,
# transformer dropout 0.1, dropout 0.1 before the classifier. Evaluation: short side 288, centre crop 256.
# Input in [0, 1] without mean/std, RGB: the setting of timm's MobileViT weights, which
# tools/model_converters/timm2lwmm.py converts for this config (ml-cvnets' own checkpoints were trained
# on BGR images: for those set to_rgb=False).
_base_ = ['../_base_/default_runtime_cls.py']

data_preprocessor = dict(num_classes=1000, mean=[0, 0, 0], std=[255, 255, 255], to_rgb=True)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='lwmm.MobileViT', arch='small', drop_rate=0.1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='lwmm.DropoutLinearClsHead',
        num_classes=1000,
        in_channels=640,
        dropout_rate=0.1,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)))

# data: each training batch takes one resolution from the multi-scale sampler; the crop inside
# lwmm.BatchShapeTransform is made at that resolution (256 px without the sampler)
dataset_type = 'ImageNet'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='lwmm.BatchShapeTransform', transform=dict(type='RandomResizedCrop', scale=256)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=288, edge='short'),
    dict(type='CenterCrop', crop_size=256),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=5,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='lwmm.MultiScaleBatchSampler', base_size=256, scales=(160, 192, 256, 288, 320)),
    dataset=dict(
        type='lwmm.MultiScaleDataset',
        dataset=dict(type=dataset_type, data_root='data/imagenet', split='train', pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=100,
    num_workers=5,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root='data/imagenet', split='val', pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# schedule
max_epochs = 300
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.002, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=3000),
    dict(type='CosineAnnealingLR', eta_min=0.0002, by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
custom_hooks = [dict(type='EMAHook', momentum=0.0005, priority='ABOVE_NORMAL')]
auto_scale_lr = dict(base_batch_size=1024)
