# SSDLite with MobileViT-S on COCO at 320x320, the paper's detection recipe (ml-cvnets'
# config/detection/ssd_mobilevit_small_320.yaml): 200 epochs, batch 128 (4 GPUs x 32), AdamW (wd 0.01),
# warm-up 9e-5 -> 9e-4 over 500 iterations then cosine to 1e-6, EMA 0.0005. As in the paper, the
# backbone gives its stride-16 and stride-32 MobileViT-block outputs (128 and 160 channels; the
# classifier's final 1x1 expansion conv is dropped) and the SSDLite neck adds four levels.
# The backbone starts from the paper's ImageNet weights as timm publishes them (timm://mobilevit_s.cvnets_in1k,
# converted to lwmm's keys on load; docs/pretrained.md), with the input those weights expect: RGB in [0, 1],
# no mean/std (timm's pretrained_cfg: mean 0, std 1; see lwmm/converters/mobilevit.py on channel order).
# Nothing frozen, BatchNorm trained, as in ml-cvnets' recipe.
_base_ = [
    '../_base_/models/ssdlite.py', '../_base_/datasets/coco_ssdlite_320.py',
    '../_base_/schedules/ssdlite_600e.py', '../_base_/default_runtime_det.py'
]
model = dict(
    data_preprocessor=dict(mean=[0, 0, 0], std=[255, 255, 255], bgr_to_rgb=True),
    backbone=dict(
        type='lwmm.MobileViT',
        arch='small',
        out_indices=(3, 4),
        with_last_conv=False,
        drop_rate=0.1,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(type='Pretrained', checkpoint='timm://mobilevit_s.cvnets_in1k', prefix='backbone.')),
    neck=dict(in_channels=(128, 160), out_channels=(128, 160, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(128, 160, 512, 256, 256, 128)))

train_dataloader = dict(batch_size=32, dataset=dict(times=1))
max_epochs = 200
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0009, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs),
]
custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'),
    dict(type='EMAHook', momentum=0.0005, priority='ABOVE_NORMAL'),
]
auto_scale_lr = dict(base_batch_size=128)
