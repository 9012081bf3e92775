# configs/cls/dy-mobilenetv2-1.0x_in1k.py on the shapes data, with the data, evaluation and recipe of
# ../_base_/shapes_cls.py; the temperature anneals 30 -> 1 over the first 125 iterations (the paper: 10 of 300 epochs).
# Why: the real recipe, scaled down, underfits these 375 iterations (GhostNetV2: train loss 1.00, 52 %);
# AdamW at 4e-3, plain cross-entropy and flips, on 2000 images, fits them (docs/demos.md has the runs).
# Twice the shared 3 epochs, as oct-mobilenetv2_shapes.py: MobileNetV2's layers fit these images more slowly
# (plain MobileNetV2: 88 % after 3 epochs); DY-MobileNetV2 reaches 82 % after 3 epochs and 96 % after 6.
# It learns since DynamicConv2d starts its K kernels as copies of one (independently drawn kernels: 50 %;
# docs/demos.md, "DY-MobileNetV2: where it stalled").
_base_ = ['../cls/dy-mobilenetv2-1.0x_in1k.py', '../_base_/shapes_cls.py']
model = dict(head=dict(num_classes=4, topk=(1, ), dropout_rate=0.0))
data_preprocessor = dict(num_classes=4)
train_dataloader = _base_.shapes_cls_train_dataloader
val_dataloader = test_dataloader = _base_.shapes_cls_val_dataloader
val_evaluator = test_evaluator = _base_.shapes_cls_evaluator
auto_scale_lr = _base_.shapes_cls_auto_scale_lr
optim_wrapper = _base_.shapes_cls_optim_wrapper
train_cfg = _base_.shapes_cls_long_train_cfg
param_scheduler = _base_.shapes_cls_long_param_scheduler
# per iteration: by_epoch=True with anneal_length=1 would hold 30 through epoch 1 and step to 1 at epoch 2
custom_hooks = [dict(type='lwmm.DynamicConvTemperatureHook', start=30, end=1, anneal_length=125, by_epoch=False)]
