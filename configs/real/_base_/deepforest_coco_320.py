# DeepForest's tree crowns (tools/dataset_converters/deepforest2coco.py: 400 px tiles of four real
# orthophotos, split by photo; one class) for mmdet's CocoDataset, tiles resized to 320x320 (crowns become
# about 15-35 px). Aerial views have no up or down, so flips go both ways. A detection config inherits
# this beside its model's config and takes these (unique) names: mmengine refuses a key two bases both set.
deepforest = dict(type='CocoDataset', data_root='data/real/deepforest_coco/', metainfo=dict(classes=('tree', )))
_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(320, 320), keep_ratio=False),
    dict(type='RandomFlip', prob=[0.25, 0.25, 0.25], direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PackDetInputs')
]
_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(320, 320), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
# 41 of the 43 train tiles hold crowns: drop_last, else the last batch has one tile and SSDLite's 1x1 top level
# cannot train its BatchNorm on one value per channel
deepforest_train_dataloader = dict(
    _delete_=True, batch_size=8, num_workers=0, batch_sampler=None, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**deepforest, ann_file='annotations/instances_train.json', data_prefix=dict(img=''),
                 filter_cfg=dict(filter_empty_gt=True), pipeline=_train_pipeline))
deepforest_val_dataloader = dict(
    _delete_=True, batch_size=8, num_workers=0, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**deepforest, ann_file='annotations/instances_val.json', data_prefix=dict(img=''),
                 test_mode=True, pipeline=_test_pipeline))
deepforest_evaluator = dict(_delete_=True, type='CocoMetric', metric='bbox',
                            ann_file='data/real/deepforest_coco/annotations/instances_val.json')
# a short CPU schedule from random weights: linear warm-up, then cosine; 41 tiles make 5 iterations an epoch
deepforest_epochs = 70  # 350 iterations, as the shapes detection demo (24 epochs left SSDLite at the constant answer)
deepforest_train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=deepforest_epochs,
                            val_interval=deepforest_epochs)
deepforest_param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', begin=0, T_max=deepforest_epochs, end=deepforest_epochs, by_epoch=True, eta_min=0,
         convert_to_iter_based=True)
]
