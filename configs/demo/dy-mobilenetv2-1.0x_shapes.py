# configs/cls/dy-mobilenetv2-1.0x_in1k.py on the shapes data; data, evaluation and the 10-epoch frame come from
# ../_base_/shapes_cls.py. Recipe: the real SGD at about its lr (0.05 at batch 256) scaled to batch 16, 0.005, with a
# cosine decay; the temperature anneals 30 -> 1 over the first 3 of the 10 epochs (the paper: 10 of 300).
_base_ = ['../cls/dy-mobilenetv2-1.0x_in1k.py', '../_base_/shapes_cls.py']
model = dict(head=dict(num_classes=4, topk=(1, )))
data_preprocessor = dict(num_classes=4)
train_dataloader = _base_.shapes_cls_train_dataloader
val_dataloader = test_dataloader = _base_.shapes_cls_val_dataloader
val_evaluator = test_evaluator = _base_.shapes_cls_evaluator
train_cfg = _base_.shapes_cls_train_cfg
auto_scale_lr = _base_.shapes_cls_auto_scale_lr
optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = _base_.shapes_cls_cosine
custom_hooks = [dict(type='lwmm.DynamicConvTemperatureHook', start=30, end=1, anneal_length=3, by_epoch=True)]
