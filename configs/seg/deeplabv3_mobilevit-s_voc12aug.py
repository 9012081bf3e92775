# DeepLabV3 with MobileViT-S on PASCAL VOC 2012 + SBD (data/VOCdevkit), the paper's segmentation recipe
# (ml-cvnets' config/segmentation/pascal_voc/deeplabv3_mobilevit.yaml): output stride 8 (stages 3 and 4
# dilated), ASPP with 512 channels and rates 12/24/36 on the last MobileViT block (160 ch; the final 1x1
# expansion conv is dropped), auxiliary FCN head on stage 3 (128 ch), crop 512, batch 64 (4 GPUs x 16),
# 50 epochs (8300 iterations over the 10582 training images), AdamW (wd 0.01), warm-up 9e-5 -> 9e-4
# over 500 iterations then cosine to 1e-6, heads at 10x the learning rate, EMA 0.0005. ml-cvnets also
# adds COCO images to the training set; this config uses VOC + SBD only.
# The backbone starts from the paper's ImageNet weights as timm publishes them (timm://mobilevit_s.cvnets_in1k,
# converted on load; docs/pretrained.md), with the input they expect: RGB in [0, 1], no mean/std (timm's
# pretrained_cfg). Nothing frozen, BatchNorm trained, as in ml-cvnets' recipe.
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py', 'mmseg::_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/schedules/schedule_20k.py', '../_base_/default_runtime_seg.py'
]
crop_size = (512, 512)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size, mean=[0, 0, 0], std=[255, 255, 255], bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='lwmm.MobileViT',
        arch='small',
        out_indices=(3, 4),
        out_stride=8,
        with_last_conv=False,
        drop_rate=0.1,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(type='Pretrained', checkpoint='timm://mobilevit_s.cvnets_in1k', prefix='backbone.')),
    decode_head=dict(in_channels=160, in_index=1, channels=512, dilations=(1, 12, 24, 36), num_classes=21),
    auxiliary_head=dict(in_channels=128, in_index=0, num_classes=21))

train_dataloader = dict(batch_size=16)
max_iters = 8300
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0009, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.), 'auxiliary_head': dict(lr_mult=10.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False, begin=0, end=max_iters, T_max=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=830)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=830, max_keep_ckpts=3))
custom_hooks = [dict(type='EMAHook', momentum=0.0005, priority='ABOVE_NORMAL')]
auto_scale_lr = dict(base_batch_size=64)
