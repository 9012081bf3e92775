# configs/cls/oct-mobilenetv2_in1k.py on the shapes data; data, evaluation and the 10-epoch frame come from
# ../_base_/shapes_cls.py. Recipe: the real one scaled to batch 16, lr 0.4 x 16 / 1024 = 0.00625 (0.05, 8x
# that, drove the loss from 1.40 to 3.2 within two epochs), and its warm-up (5 of 150 epochs) rounded up to one.
_base_ = ['../cls/oct-mobilenetv2_in1k.py', '../_base_/shapes_cls.py']
model = dict(head=dict(num_classes=4, topk=(1, )))
data_preprocessor = dict(num_classes=4)
train_dataloader = _base_.shapes_cls_train_dataloader
val_dataloader = test_dataloader = _base_.shapes_cls_val_dataloader
val_evaluator = test_evaluator = _base_.shapes_cls_evaluator
train_cfg = _base_.shapes_cls_train_cfg
auto_scale_lr = _base_.shapes_cls_auto_scale_lr
optim_wrapper = dict(optimizer=dict(lr=0.00625))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, T_max=9, end=10, convert_to_iter_based=True)
]
