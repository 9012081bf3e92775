# configs/seg/deeplabv3_ghostnetv2_ade20k.py on the shapes data (ADE20K layout, 5 classes with
# background), 256x256 crops and a CPU-sized schedule, from random weights (init_cfg=None).
_base_ = ['../seg/deeplabv3_ghostnetv2_ade20k.py', '../_base_/datasets/shapes.py']
crop_size = _base_.shapes_seg_crop_size
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=None),
    decode_head=dict(num_classes=5),
    auxiliary_head=dict(num_classes=5))
train_dataloader = _base_.shapes_seg_train_dataloader
val_dataloader = _base_.shapes_seg_val_dataloader
test_dataloader = val_dataloader
train_cfg = dict(max_iters=400, val_interval=400)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=400, by_epoch=False)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=200))
