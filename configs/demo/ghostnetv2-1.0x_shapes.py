# configs/cls/ghostnetv2-1.0x_in1k.py on the shapes data (ImageNet folder layout, 4 classes), 96x96 images
# and the CPU-sized schedule of ghostnet-1.0x_shapes.py. Its backbone is the starting point of the transfer
# demo (ssdlite_ghostnetv2-transfer_shapes.py, `make transfer`).
_base_ = ['../cls/ghostnetv2-1.0x_in1k.py', '../_base_/datasets/shapes.py']
model = dict(head=dict(num_classes=4, topk=(1, )))
data_preprocessor = dict(num_classes=4)
train_dataloader = _base_.shapes_cls_train_dataloader
val_dataloader = _base_.shapes_cls_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_cls_evaluator
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, T_max=10, end=10)]
train_cfg = dict(max_epochs=10, val_interval=10)
auto_scale_lr = dict(base_batch_size=16)
randomness = dict(seed=0)
