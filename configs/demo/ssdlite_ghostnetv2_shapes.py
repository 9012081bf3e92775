# The main job: configs/det/ssdlite_ghostnetv2-scratch_coco.py (from random weights) on the shapes data,
# sized for a 2-core CPU (about 10 minutes). Besides the data, two things change and why: SSD's
# zoom-out/crop augmentation (Expand, MinIoURandomCrop) is dropped because a from-scratch run this short
# cannot afford it, and the schedule is shortened (higher lr, short warm-up, a few epochs).
# Too short to converge: the loss still falls fast at the end, so the final mAP@0.5 moves by about 0.1 from seed
# to seed (0.669 at seed 0, 0.568 at seed 1; docs/demos.md, "Detection demo: three seeds"). Open (issue 15).
_base_ = ['../det/ssdlite_ghostnetv2-scratch_coco.py', '../_base_/datasets/shapes.py']
model = dict(bbox_head=dict(num_classes=4))
train_dataloader = _base_.shapes_det_train_dataloader
val_dataloader = _base_.shapes_det_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_coco_evaluator
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
