# What every shapes classification demo (configs/demo/<family>_shapes.py) shares, held once: the data
# (4 classes, 96x96 images, ./datasets/shapes.py), top-1 evaluation, and the schedule's frame (10 epochs,
# one validation at the end, lr written for batch 16). A demo inherits its real configs/cls/ config plus
# this file and points the real keys at these names; the shapes_ prefix keeps them from clashing with the
# real config's keys. Only the family's optimiser and lr curve, with the reason for them, are in the demo.
_base_ = ['./datasets/shapes.py']
shapes_cls_max_epochs = 10
shapes_cls_train_cfg = dict(by_epoch=True, max_epochs=shapes_cls_max_epochs, val_interval=shapes_cls_max_epochs)
shapes_cls_auto_scale_lr = dict(base_batch_size=16)
shapes_cls_cosine = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, T_max=shapes_cls_max_epochs, end=shapes_cls_max_epochs)
]
