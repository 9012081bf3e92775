# The generated shapes data (python tools/make_shapes.py), in the real COCO / ADE20K / ImageNet layouts,
# as complete dataloaders per task. A demo config inherits a real config plus this file and takes the
# loaders it needs (`train_dataloader = _base_.shapes_cls_train_dataloader`); the names here are unique,
# so they never clash with the real config's keys. Pipelines are sized for a 2-core CPU.
shapes_classes = ('circle', 'square', 'triangle', 'star')
shapes_coco = dict(data_root='data/shapes/coco/', metainfo=dict(classes=shapes_classes))
shapes_coco_val_ann = 'data/shapes/coco/annotations/instances_val2017.json'
shapes_coco_evaluator = dict(type='CocoMetric', ann_file=shapes_coco_val_ann, metric='bbox')

# detection: images are 320x320; SSD's zoom-out/crop augmentation (Expand, MinIoURandomCrop) is left out
# because a from-scratch run of a few minutes cannot afford it
_shapes_det_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(320, 320), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
_shapes_det_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(320, 320), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
_shapes_det_val_dataset = dict(
    _delete_=True, type='CocoDataset', **shapes_coco, ann_file='annotations/instances_val2017.json',
    data_prefix=dict(img='val2017/'), test_mode=True, pipeline=_shapes_det_test_pipeline)
shapes_det_train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True, batch_sampler=None,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_delete_=True, type='CocoDataset', **shapes_coco, ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/'), filter_cfg=dict(filter_empty_gt=True, min_size=32),
                 pipeline=_shapes_det_train_pipeline))
shapes_det_val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False), dataset=_shapes_det_val_dataset)

# segmentation: ADE20K layout, 5 classes with background (label 0), 256x256 crops
shapes_ade = dict(
    type='BaseSegDataset',
    data_root='data/shapes/ade/ADEChallengeData2016',
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=False,
    metainfo=dict(classes=('background', ) + shapes_classes,
                  palette=[[0, 0, 0], [220, 20, 60], [0, 130, 200], [60, 180, 75], [255, 225, 25]]))
shapes_seg_crop_size = (256, 256)
shapes_seg_train_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(_delete_=True, **shapes_ade,
                 data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
                 pipeline=[
                     dict(type='LoadImageFromFile'),
                     dict(type='LoadAnnotations', reduce_zero_label=False),
                     dict(type='RandomResize', scale=(256, 256), ratio_range=(0.5, 2.0), keep_ratio=True),
                     dict(type='RandomCrop', crop_size=shapes_seg_crop_size, cat_max_ratio=0.75),
                     dict(type='RandomFlip', prob=0.5),
                     dict(type='PhotoMetricDistortion'),
                     dict(type='PackSegInputs')
                 ]))
shapes_seg_val_dataloader = dict(
    num_workers=2,
    dataset=dict(_delete_=True, **shapes_ade,
                 data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
                 pipeline=[
                     dict(type='LoadImageFromFile'),
                     dict(type='Resize', scale=(256, 256), keep_ratio=True),
                     dict(type='LoadAnnotations', reduce_zero_label=False),
                     dict(type='PackSegInputs')
                 ]))

# classification: ImageNet folder layout, 4 classes, 96x96 images
shapes_imagenet = dict(
    type='CustomDataset', data_root='data/shapes/imagenet', ann_file='', with_label=True,
    metainfo=dict(classes=shapes_classes))
shapes_cls_train_dataloader = dict(
    batch_size=16, num_workers=2,
    dataset=dict(_delete_=True, **shapes_imagenet, data_prefix='train', pipeline=[
        dict(type='LoadImageFromFile'),
        # flips only: part of the recipe that lets the from-scratch demos fit in minutes (../shapes_cls.py)
        dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
        dict(type='PackInputs'),
    ]))
shapes_cls_val_dataloader = dict(
    batch_size=16, num_workers=2,
    dataset=dict(_delete_=True, **shapes_imagenet, data_prefix='val',
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
shapes_cls_evaluator = dict(type='Accuracy', topk=(1, ))
