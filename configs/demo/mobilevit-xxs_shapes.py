# configs/cls/mobilevit-xxs_in1k.py on the shapes data (ImageNet folder layout, 4 classes): the
# multi-scale sampler around 96 px (64/96/128) and a CPU-sized schedule.
_base_ = ['../cls/mobilevit-xxs_in1k.py', '../_base_/datasets/shapes.py']
model = dict(head=dict(num_classes=4, topk=(1, )))
data_preprocessor = dict(num_classes=4)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='lwmm.BatchShapeTransform',
         transform=dict(type='RandomResizedCrop', scale=96, crop_ratio_range=(0.6, 1.0))),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=16, num_workers=2,
    batch_sampler=dict(base_size=96, scales=(64, 96, 128)),
    dataset=dict(dataset=dict(_delete_=True, **_base_.shapes_imagenet, data_prefix='train',
                              pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=16, num_workers=2,
    dataset=dict(_delete_=True, **_base_.shapes_imagenet, data_prefix='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', eta_min=0.0002, by_epoch=True, begin=0, end=10, T_max=10),
]
train_cfg = dict(max_epochs=10, val_interval=10)
auto_scale_lr = dict(base_batch_size=16)
# the recipe's EMA (momentum 0.0005) averages over ~2000 iterations: on a ~240-iteration run it stays near
# the random initialisation, and validation uses it
custom_hooks = []
