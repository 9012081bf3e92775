# configs/cls/oct-resnet50-a0.5_in1k.py on the shapes data; data, evaluation and the 10-epoch frame come
# from ../_base_/shapes_cls.py. Recipe: the real SGD and cosine decay, with lr 0.05 (8x the real 0.4 scaled to
# batch 16) after a 20-iteration warm-up in place of the real five epochs.
_base_ = ['../cls/oct-resnet50-a0.5_in1k.py', '../_base_/shapes_cls.py']
model = dict(head=dict(num_classes=4, topk=(1, )))
data_preprocessor = dict(num_classes=4)
train_dataloader = _base_.shapes_cls_train_dataloader
val_dataloader = test_dataloader = _base_.shapes_cls_val_dataloader
val_evaluator = test_evaluator = _base_.shapes_cls_evaluator
train_cfg = _base_.shapes_cls_train_cfg
auto_scale_lr = _base_.shapes_cls_auto_scale_lr
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, T_max=10, end=10)
]
