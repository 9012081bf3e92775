# configs/det/retinanet_oct-resnet50_fpn_coco.py on the shapes data, a CPU-sized schedule. Without an
# ImageNet-trained backbone the demo trains it from scratch: nothing frozen, BN statistics updated.
_base_ = ['../det/retinanet_oct-resnet50_fpn_coco.py', '../_base_/datasets/shapes.py']
model = dict(backbone=dict(frozen_stages=-1, norm_eval=False), bbox_head=dict(num_classes=4))
val_evaluator = dict(ann_file={{_base_.shapes_coco_val_ann}})
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=12, val_interval=12)
train_dataloader = dict(batch_size=4, num_workers=2, dataset=dict(**_base_.shapes_coco, pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(320, 320), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]))
val_dataloader = dict(num_workers=2, dataset=dict(**_base_.shapes_coco, pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(320, 320), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]))
test_dataloader = val_dataloader
