# OctConv ImageNet recipe: SGD (momentum 0.9, weight decay 1e-4), lr 0.4 with a 5-epoch linear warm-up
# then cosine to 0 (facebookresearch/OctConv README: "Cosine (warm-up: 5 epochs, lr: 0.4)"), 120 epochs
# (d-li14/octconv.pytorch, whose Oct-ResNet-50 alpha 0.5 reaches 77.64 top-1 this way). lr 0.4 is taken
# as the linear-scaling value for batch 1024 (8 GPUs x 128); auto_scale_lr rescales other batch sizes.
max_epochs = 120
warmup_epochs = 5
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.4, momentum=0.9, weight_decay=1e-4, nesterov=False))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, eta_min=0, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=1024)
