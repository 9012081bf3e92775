# RetinaNet + FPN with GhostNet 1.0x from random weights (configs/det/retinanet_ghostnet_fpn_coco.py, nothing
# frozen, BatchNorm training) on DeepForest's tree-crown tiles (_base_/deepforest_coco_320.py), paired with
# retinanet_r18-scratch_fpn_deepforest.py: same neck, head, data and schedule.
_base_ = ['../det/retinanet_ghostnet_fpn_coco.py', './_base_/deepforest_coco_320.py']
model = dict(backbone=dict(init_cfg=None, frozen_stages=-1, norm_eval=False), bbox_head=dict(num_classes=1))
# mmdet's SGD at lr 0.01 diverged from scratch here (loss NaN at iteration 76 with ResNet-18, 103 with GhostNet, both
# before any crown was found); AdamW as the SSDLite pair, at half its lr for the larger head, gradients clipped
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=0.001, weight_decay=0.05),
                     clip_grad=dict(max_norm=35, norm_type=2))
train_dataloader = _base_.deepforest_train_dataloader
val_dataloader = _base_.deepforest_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.deepforest_evaluator
test_evaluator = val_evaluator
train_cfg = _base_.deepforest_train_cfg
param_scheduler = _base_.deepforest_param_scheduler
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=_base_.deepforest_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
