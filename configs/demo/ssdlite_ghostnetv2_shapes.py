# The main job: configs/det/ssdlite_ghostnetv2_coco.py on the shapes data, sized for a 2-core CPU
# (about 10 minutes). Besides the data, two things change and why: SSD's zoom-out/crop augmentation
# (Expand, MinIoURandomCrop) is dropped because a from-scratch run this short cannot afford it, and the
# schedule is shortened (higher lr, short warm-up, a few epochs).
_base_ = ['../det/ssdlite_ghostnetv2_coco.py', '../_base_/datasets/shapes.py']
model = dict(bbox_head=dict(num_classes=4))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale={{_base_.input_size}}, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(times=1, dataset=dict(**_base_.shapes_coco, pipeline=train_pipeline)))
val_dataloader = dict(num_workers=2, dataset={{_base_.shapes_coco}})
test_dataloader = val_dataloader
val_evaluator = dict(ann_file={{_base_.shapes_coco_val_ann}})
test_evaluator = val_evaluator
max_epochs = 7
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs, by_epoch=True, eta_min=0)
]
optim_wrapper = dict(optimizer=dict(lr=0.05))
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=10))
randomness = dict(seed=0)
