# configs/det/ssdlite_mobilevit-xxs_coco.py on the shapes data, a CPU-sized schedule, from random weights
# (init_cfg=None).
_base_ = ['../det/ssdlite_mobilevit-xxs_coco.py', '../_base_/datasets/shapes.py']
model = dict(backbone=dict(init_cfg=None), bbox_head=dict(num_classes=4))
train_dataloader = _base_.shapes_det_train_dataloader
val_dataloader = _base_.shapes_det_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_coco_evaluator
test_evaluator = val_evaluator
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs),
]
auto_scale_lr = dict(base_batch_size=16)
