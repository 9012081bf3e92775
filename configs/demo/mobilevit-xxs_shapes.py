# configs/cls/mobilevit-xxs_in1k.py on the shapes data, with the data, evaluation and recipe of
# ../_base_/shapes_cls.py, and the real multi-scale sampler kept around 96 px (64/96/128; each batch resized
# whole). No EMA: the real one (momentum 0.0005) averages over ~2000 iterations, so on a 375-iteration run it
# would validate weights near the start.
# Why: the real recipe, scaled down, underfits these 375 iterations (GhostNetV2: train loss 1.00, 52 %);
# AdamW at 4e-3, plain cross-entropy and flips, on 2000 images, fits them (docs/demos.md has the runs).
_base_ = ['../cls/mobilevit-xxs_in1k.py', '../_base_/shapes_cls.py']
# residual MV2 blocks start as identity (timm's zero_init_last): with the paper's init the loss sat at chance
# (ln 4) for 100-300 iterations and the demo ended at 42-92 % over seeds (docs/demos.md)
model = dict(backbone=dict(zero_init_residual=True),
             head=dict(num_classes=4, topk=(1, ), dropout_rate=0.0, loss=_base_.shapes_cls_loss))
data_preprocessor = dict(num_classes=4)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='lwmm.BatchShapeTransform',
         transform=dict(type='RandomResizedCrop', scale=96, crop_ratio_range=(1.0, 1.0),
                        aspect_ratio_range=(1.0, 1.0))),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=2,
    batch_sampler=dict(base_size=96, scales=(64, 96, 128)),
    dataset=dict(dataset=dict(_delete_=True, **_base_.shapes_imagenet, data_prefix='train',
                              pipeline=train_pipeline)))
val_dataloader = test_dataloader = _base_.shapes_cls_val_dataloader
test_pipeline = _base_.shapes_cls_val_dataloader.dataset.pipeline  # not the real 288/256 resize-crop
val_evaluator = test_evaluator = _base_.shapes_cls_evaluator
train_cfg = _base_.shapes_cls_train_cfg
auto_scale_lr = _base_.shapes_cls_auto_scale_lr
# the shared lr 4e-3 left it at chance (loss 1.43 after 2 of 3 epochs); the real recipe's 2e-3 learns
# (92 % once; 70-88 % over three seeds with the zero init above: below the 90 % aim, docs/demos.md)
optim_wrapper = dict(_base_.shapes_cls_optim_wrapper, optimizer=dict(type='AdamW', lr=0.002, weight_decay=0.05))
param_scheduler = _base_.shapes_cls_param_scheduler
custom_hooks = []
