# What every shapes classification demo (configs/demo/<family>_shapes.py) shares, held once: the data
# (4 classes, 96x96 images, ./datasets/shapes.py), top-1 evaluation and one recipe. A demo inherits its real
# configs/cls/ config plus this file and points the real keys at these names; the shapes_ prefix keeps them
# from clashing with the real config's keys.
# The recipe: the real ImageNet recipes scaled down (lr for batch 16, label smoothing, dropout, random resized
# crops) left the families underfitting 250-375 iterations (GhostNetV2: train loss 1.00, 52 % top-1; others
# 30-54 %) where a six-layer CNN reached 92 %. AdamW at 4e-3 with plain cross-entropy, no dropout and flips as
# the only augmentation fits most of them in 375 iterations on 2000 images (GhostNet 96 %, GhostNetV2 98 %,
# Oct-ResNet-50 98 %; docs/demos.md has the runs), so the demos run 3 epochs of the 2000 training images
# lwmm/datasets/shapes.py writes. The MobileNetV2-based demos (and MobileViT-XXS, built on MobileNetV2 blocks)
# run 6 (their configs say why).
_base_ = ['./datasets/shapes.py']
shapes_cls_max_epochs = 3
shapes_cls_train_cfg = dict(by_epoch=True, max_epochs=shapes_cls_max_epochs, val_interval=shapes_cls_max_epochs)
shapes_cls_auto_scale_lr = dict(base_batch_size=16)
shapes_cls_optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=0.004, weight_decay=0.05))
shapes_cls_param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=40),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, T_max=shapes_cls_max_epochs, end=shapes_cls_max_epochs,
         convert_to_iter_based=True),
]
shapes_cls_loss = dict(_delete_=True, type='CrossEntropyLoss', loss_weight=1.0)
# the MobileNetV2-based demos and MobileViT-XXS train twice as long (plain MobileNetV2: 88 % after 3 epochs;
# their configs say why)
shapes_cls_long_max_epochs = 2 * shapes_cls_max_epochs
shapes_cls_long_train_cfg = dict(by_epoch=True, max_epochs=shapes_cls_long_max_epochs,
                                 val_interval=shapes_cls_long_max_epochs)
shapes_cls_long_param_scheduler = [
    shapes_cls_param_scheduler[0],
    dict(shapes_cls_param_scheduler[1], T_max=shapes_cls_long_max_epochs, end=shapes_cls_long_max_epochs),
]
