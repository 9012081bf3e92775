# GhostNet / GhostNetV2 ImageNet recipe (Han et al. 2020; Tang et al. 2022): 450 epochs, batch 1024
# (8 x 128), TF-style RMSProp (eps 1e-3 inside the root, i.e. 0.0316 in torch's form), lr 0.064,
# decay x0.973 every 2.4 epochs (3003 iterations at 1252 iterations/epoch), 3 warm-up epochs.
optim_wrapper = dict(
    optimizer=dict(type='RMSprop', lr=0.064, alpha=0.9, momentum=0.9, eps=0.0316, weight_decay=1e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=3, convert_to_iter_based=True),
    dict(type='StepLR', by_epoch=False, begin=3756, step_size=3003, gamma=0.973),
]
train_cfg = dict(by_epoch=True, max_epochs=450, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=1024)
