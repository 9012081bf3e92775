# configs/cls/oct-mobilenetv2_in1k.py on the shapes data, with the data, evaluation and recipe of
# ../_base_/shapes_cls.py.
# Why: the real recipe, scaled down, underfits these 375 iterations (GhostNetV2: train loss 1.00, 52 %);
# AdamW at 4e-3, plain cross-entropy and flips, on 2000 images, fits them (docs/demos.md has the runs).
# Twice the shared 3 epochs: MobileNetV2's layers fit these images more slowly than the other families. In 3
# epochs Oct-MobileNetV2 and its static twin, plain MobileNetV2, both reach 88 %; in 6, Oct-MobileNetV2 99 %.
_base_ = ['../cls/oct-mobilenetv2_in1k.py', '../_base_/shapes_cls.py']
model = dict(head=dict(num_classes=4, topk=(1, ), loss=_base_.shapes_cls_loss))
data_preprocessor = dict(num_classes=4)
train_dataloader = _base_.shapes_cls_train_dataloader
val_dataloader = test_dataloader = _base_.shapes_cls_val_dataloader
val_evaluator = test_evaluator = _base_.shapes_cls_evaluator
auto_scale_lr = _base_.shapes_cls_auto_scale_lr
optim_wrapper = _base_.shapes_cls_optim_wrapper
train_cfg = _base_.shapes_cls_long_train_cfg
param_scheduler = _base_.shapes_cls_long_param_scheduler
