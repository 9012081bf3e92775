# configs/cls/ghostnetv2-1.0x_in1k.py on the shapes data; data and evaluation come from
# ../_base_/shapes_cls.py. Its backbone is the starting point of the transfer demo
# (ssdlite_ghostnetv2-transfer_shapes.py, `make transfer`). Recipe: SGD with Nesterov momentum at 0.05 after
# a short warm-up, 15 epochs, because the GhostNet demo's RMSProp at lr 0.01 left this network at chance
# (loss ln 4 after 8 of 10 epochs); it reaches about 50 % top-1 (docs/demos.md).
_base_ = ['../cls/ghostnetv2-1.0x_in1k.py', '../_base_/shapes_cls.py']
model = dict(head=dict(num_classes=4, topk=(1, )))
data_preprocessor = dict(num_classes=4)
train_dataloader = _base_.shapes_cls_train_dataloader
val_dataloader = test_dataloader = _base_.shapes_cls_val_dataloader
val_evaluator = test_evaluator = _base_.shapes_cls_evaluator
auto_scale_lr = _base_.shapes_cls_auto_scale_lr
max_epochs = 15
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=25),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, T_max=max_epochs, end=max_epochs),
]
randomness = dict(seed=0)
