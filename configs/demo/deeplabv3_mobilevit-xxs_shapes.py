# configs/seg/deeplabv3_mobilevit-xxs_ade20k.py on the shapes data (ADE20K layout, 5 classes with
# background), 256x256 crops and a CPU-sized schedule, from random weights (init_cfg=None).
_base_ = ['../seg/deeplabv3_mobilevit-xxs_ade20k.py', '../_base_/datasets/shapes.py']
crop_size = _base_.shapes_seg_crop_size
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=None),
    decode_head=dict(num_classes=5),
    auxiliary_head=dict(num_classes=5))
train_dataloader = _base_.shapes_seg_train_dataloader
val_dataloader = _base_.shapes_seg_val_dataloader
test_dataloader = val_dataloader
max_iters = 400
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=0.0002, by_epoch=False, begin=0, end=max_iters, T_max=max_iters)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=200))
