# The Fashion-MNIST leaderboard's shared recipe: mmpretrain's FashionMNIST dataset (the idx files that
# tools/fetch_data.sh unpacks into data/real/fashion-mnist/, download=False) and Accuracy evaluator, 28x28
# grey images resized to 32x32, no augmentation; SGD (momentum 0.9, nesterov) with one cosine one-cycle
# schedule, batch 128. The budget (training subset, epochs) is set by
# lwmm.analysis.leaderboard.apply_budget, which the leaderboard tool calls; the defaults here are its
# reference point: the first 20,000 training images, one epoch, the full 10,000-image test set.
_base_ = ['../../_base_/default_runtime_cls.py']

# The grey image is one channel; the normaliser's three-value mean broadcasts it to the three channels
# every backbone expects (statistics of the training set: 0.2860 and 0.3530 of 255).
data_preprocessor = dict(num_classes=10, mean=[72.94] * 3, std=[90.02] * 3, to_rgb=False)

fashion_mnist = dict(type='FashionMNIST', data_root='data/real/fashion-mnist', download=False)
pipeline = [dict(type='Resize', scale=(32, 32)), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**fashion_mnist, split='train', indices=20000, pipeline=pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # mmpretrain 1.2's MNIST reads the test files only with test_mode=True (split='test' alone gives the train set)
    dataset=dict(**fashion_mnist, split='test', test_mode=True, pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

max_epochs = 1
# one cycle (Smith & Topin, 2019, as torch's OneCycleLR with pct_start 0.25): a quarter of the iterations
# rising from lr/25 to lr, then cosine to nearly 0. Built from LinearLR + CosineAnnealingLR because mmengine's
# OneCycleLR pickles a bound method into its state, which checkpoints loaded weights-only refuse.
lr = 0.1
optim_wrapper = dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 25, by_epoch=True, begin=0, end=0.25 * max_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=lr / 25 / 1e4, by_epoch=True, begin=0.25 * max_epochs, end=max_epochs,
         T_max=0.75 * max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))
