# configs/cls/ghostnetv2-1.0x_in1k.py on the shapes data (ImageNet folder layout, 4 classes), 96x96 images, a
# CPU-sized schedule. Its backbone is the starting point of the transfer demo
# (ssdlite_ghostnetv2-transfer_shapes.py, `make transfer`). The recipe's RMSProp at lr 0.01 (the setting of
# ghostnet-1.0x_shapes.py) left this network at chance (loss ln 4 after 8 of 10 epochs); SGD with Nesterov
# momentum at 0.05 after a one-epoch warm-up reached 40 % top-1 after 4 epochs in a probe run, so it trains
# with that, for 15 epochs.
_base_ = ['../cls/ghostnetv2-1.0x_in1k.py', '../_base_/datasets/shapes.py']
model = dict(head=dict(num_classes=4, topk=(1, )))
data_preprocessor = dict(num_classes=4)
train_dataloader = _base_.shapes_cls_train_dataloader
val_dataloader = _base_.shapes_cls_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_cls_evaluator
test_evaluator = val_evaluator
max_epochs = 15
optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=25),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, T_max=max_epochs, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(base_batch_size=16)
randomness = dict(seed=0)
