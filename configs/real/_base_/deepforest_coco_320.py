# DeepForest's tree crowns (tools/dataset_converters/deepforest2coco.py: 400 px tiles of four real
# orthophotos, split by photo; one class) for mmdet's CocoDataset, tiles resized to 320x320 (crowns become
# about 15-35 px). Aerial views have no up or down, so flips go both ways. The detection configs under
# configs/real/ inherit this with their model; bbox mAP by mmdet's CocoMetric on the val tiles.
deepforest = dict(type='CocoDataset', data_root='data/real/deepforest_coco/', metainfo=dict(classes=('tree', )))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(320, 320), keep_ratio=False),
    dict(type='RandomFlip', prob=[0.25, 0.25, 0.25], direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(320, 320), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    _delete_=True, batch_size=8, num_workers=0, batch_sampler=None,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**deepforest, ann_file='annotations/instances_train.json', data_prefix=dict(img=''),
                 filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True, batch_size=8, num_workers=0, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**deepforest, ann_file='annotations/instances_val.json', data_prefix=dict(img=''),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric', ann_file='data/real/deepforest_coco/annotations/instances_val.json',
                     metric='bbox')
test_evaluator = val_evaluator
# a short CPU schedule from random weights: linear warm-up, then cosine; 43 tiles make 6 iterations an epoch
max_epochs = 24
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs, by_epoch=True, eta_min=0)
]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=6), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
