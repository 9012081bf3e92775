# The main job: configs/det/ssdlite_ghostnetv2-scratch_coco.py (from random weights) on the shapes data,
# sized for a 2-core CPU (about 10 minutes). Besides the data, three things change and why: SSD's
# zoom-out/crop augmentation (Expand, MinIoURandomCrop) is dropped because a from-scratch run this short
# cannot afford it, the schedule is shortened (short warm-up, a few epochs), and the optimiser is AdamW:
# the COCO recipe's SGD (lr 0.05 here) ended these 350 iterations mid-descent, so the final mAP@0.5 moved
# by 0.1 between seeds (0.669 / 0.568); AdamW fits them (0.824 / 0.851 / 0.857 over seeds 0-2; docs/demos.md).
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
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs, by_epoch=True, eta_min=0,
         convert_to_iter_based=True)
]
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=0.002, weight_decay=0.05))
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=10))
randomness = dict(seed=0)
