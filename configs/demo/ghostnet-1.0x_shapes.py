# configs/cls/ghostnet-1.0x_in1k.py on the shapes data; data, evaluation and the 10-epoch frame come from
# ../_base_/shapes_cls.py. Recipe: the paper's RMSProp at lr 0.01 with a cosine decay, the setting the demo
# was first written with (30 % top-1: docs/demos.md says why these demos underfit and what was measured).
_base_ = ['../cls/ghostnet-1.0x_in1k.py', '../_base_/shapes_cls.py']
model = dict(head=dict(num_classes=4, topk=(1, )))
data_preprocessor = dict(num_classes=4)
train_dataloader = _base_.shapes_cls_train_dataloader
val_dataloader = test_dataloader = _base_.shapes_cls_val_dataloader
val_evaluator = test_evaluator = _base_.shapes_cls_evaluator
train_cfg = _base_.shapes_cls_train_cfg
auto_scale_lr = _base_.shapes_cls_auto_scale_lr
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = _base_.shapes_cls_cosine
