# configs/det/ssdlite_oct-mobilenetv2_coco.py on the shapes data, a CPU-sized schedule.
_base_ = ['../det/ssdlite_oct-mobilenetv2_coco.py', '../_base_/datasets/shapes.py']
# from random weights (mmdet's SSDLite initialisation), not the real config's ImageNet warm start
model = dict(
    backbone=dict(init_cfg=dict(_delete_=True, type='TruncNormal', layer='Conv2d', std=0.03)),
    bbox_head=dict(num_classes=4))
train_dataloader = _base_.shapes_det_train_dataloader
val_dataloader = _base_.shapes_det_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_coco_evaluator
test_evaluator = val_evaluator
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs, by_epoch=True, eta_min=0)
]
optim_wrapper = dict(optimizer=dict(lr=0.05))
auto_scale_lr = dict(base_batch_size=16)
