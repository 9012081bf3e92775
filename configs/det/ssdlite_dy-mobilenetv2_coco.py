# SSDLite with DY-MobileNetV2 x1.0, mmdet's SSDLite-MobileNetV2 recipe at 320x320 on COCO (data/coco/).
# The backbone starts from its static twin's ImageNet weights (timm://mobilenetv2_100.ra_in1k: every one
# of the K kernels a copy of the static kernel, so it starts as MobileNetV2 exactly; the attention layers
# are new; docs/pretrained.md). Inputs as those weights expect: ImageNet mean/std on RGB (the base's
# data_preprocessor); backbone BN eps 1e-5 as timm's. The temperature is still annealed 30 -> 1 over the
# first 10 epochs (each epoch is 5 passes of RepeatDataset): near-uniform attention keeps the identical
# kernels together while the new layers settle. Backbone stages 3 (stride 16, 96 ch)
# and 4 (stride 32, 1280 ch: the final 1x1 conv) feed the SSD neck, as mmdet's MobileNetV2 (4, 7).
_base_ = [
    '../_base_/models/ssdlite.py', '../_base_/datasets/coco_ssdlite_320.py',
    '../_base_/schedules/ssdlite_600e.py', '../_base_/default_runtime_det.py'
]
model = dict(
    backbone=dict(
        type='lwmm.DYMobileNetV2',
        widen_factor=1.0,
        out_indices=(3, 4),
        norm_cfg=dict(type='BN', eps=1e-5, momentum=0.03),
        act_cfg=dict(type='ReLU6'),
        init_cfg=dict(type='Pretrained', checkpoint='timm://mobilenetv2_100.ra_in1k', prefix='backbone.')),
    neck=dict(in_channels=(96, 1280), out_channels=(96, 1280, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(96, 1280, 512, 256, 256, 128)))
custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'),
    dict(type='lwmm.DynamicConvTemperatureHook', start=30, end=1, anneal_length=10, by_epoch=True),
]
