# configs/det/retinanet_oct-resnet50_fpn_coco.py on the shapes data, a CPU-sized schedule. Without an
# ImageNet-trained backbone the demo trains it from scratch: nothing frozen, BN statistics updated.
_base_ = ['../det/retinanet_oct-resnet50_fpn_coco.py', '../_base_/datasets/shapes.py']
model = dict(backbone=dict(init_cfg=None, frozen_stages=-1, norm_eval=False), bbox_head=dict(num_classes=4))
train_dataloader = _base_.shapes_det_train_dataloader
val_dataloader = _base_.shapes_det_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_coco_evaluator
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=12, val_interval=12)
