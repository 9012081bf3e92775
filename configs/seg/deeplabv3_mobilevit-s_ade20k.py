# DeepLabV3 with MobileViT-S on ADE20K (data/ade/ADEChallengeData2016). The MobileViT paper reports no
# ADE20K result; this follows ml-cvnets' ADE20K DeepLabV3 recipe for MobileViTv2
# (config/segmentation/ade20k/deeplabv3_mobilevitv2.yaml): output stride 8, ASPP 512 channels with rates
# 12/24/36, auxiliary head (weight 0.4), crop 512, batch 16 (4 GPUs x 4), 120 epochs (151680 iterations
# over 20210 images), SGD (momentum 0.9, wd 1e-4, none on norms and biases) with cosine 0.02 -> 0.0002,
# gradient clipping at 10, EMA 0.0005. The backbone starts from the paper's ImageNet weights as timm
# publishes them (timm://mobilevit_s.cvnets_in1k, converted on load; docs/pretrained.md), with the input
# they expect: RGB in [0, 1], no mean/std (timm's pretrained_cfg). Nothing frozen, BatchNorm trained.
_base_ = '../_base_/deeplabv3_ade20k_512.py'
model = dict(
    data_preprocessor=dict(mean=[0, 0, 0], std=[255, 255, 255], bgr_to_rgb=True),
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
    decode_head=dict(in_channels=160, in_index=1, channels=512, dilations=(1, 12, 24, 36), num_classes=150),
    auxiliary_head=dict(in_channels=128, in_index=0, num_classes=150))

train_dataloader = dict(batch_size=4)
max_iters = 151680
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=10.))
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=0.0002, by_epoch=False, begin=0, end=max_iters, T_max=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=16000)
custom_hooks = [dict(type='EMAHook', momentum=0.0005, priority='ABOVE_NORMAL')]
auto_scale_lr = dict(base_batch_size=16)
