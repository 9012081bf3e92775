# configs/cls/mobilevit-xxs_in1k.py on the shapes data; the data, evaluation and 10-epoch frame of
# ../_base_/shapes_cls.py, with the real recipe's multi-scale sampler kept around 96 px (64/96/128).
# Recipe: the real AdamW with a 20-iteration warm-up and cosine to 0.0002, and no EMA: the real EMA (momentum
# 0.0005) averages over ~2000 iterations, so on a ~240-iteration run the weights validated stay near the start.
_base_ = ['../cls/mobilevit-xxs_in1k.py', '../_base_/shapes_cls.py']
model = dict(head=dict(num_classes=4, topk=(1, )))
data_preprocessor = dict(num_classes=4)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='lwmm.BatchShapeTransform',
         transform=dict(type='RandomResizedCrop', scale=96, crop_ratio_range=(0.6, 1.0))),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=2,
    batch_sampler=dict(base_size=96, scales=(64, 96, 128)),
    dataset=dict(dataset=dict(_delete_=True, **_base_.shapes_imagenet, data_prefix='train',
                              pipeline=train_pipeline)))
val_dataloader = test_dataloader = _base_.shapes_cls_val_dataloader
test_pipeline = _base_.shapes_cls_val_dataloader.dataset.pipeline  # not the real 288/256 resize-crop
val_evaluator = test_evaluator = _base_.shapes_cls_evaluator
train_cfg = _base_.shapes_cls_train_cfg
auto_scale_lr = _base_.shapes_cls_auto_scale_lr
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', eta_min=0.0002, by_epoch=True, begin=0, end=10, T_max=10),
]
custom_hooks = []
