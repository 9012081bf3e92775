# SSDLite with GhostNetV2 1.0x, mmdet's SSDLite recipe at 320x320 on COCO (data/coco/).
# Backbone stages 3 (stride 16, 112 ch) and 4 (stride 32, 960 ch) feed the SSD neck.
# The backbone starts from timm's ImageNet weights (timm://ghostnetv2_100.in1k, Huawei's release converted to
# lwmm's keys on load; docs/pretrained.md), input RGB with ImageNet mean/std as those weights expect (the
# base's data_preprocessor, timm's pretrained_cfg). No stage is frozen and BatchNorm keeps training, as in
# mmdet's SSDLite; the schedule is mmdet's 600-epoch one, made for training from scratch, kept unchanged.
# The from-scratch reference: ssdlite_ghostnetv2-scratch_coco.py.
_base_ = [
    '../_base_/models/ssdlite.py', '../_base_/datasets/coco_ssdlite_320.py',
    '../_base_/schedules/ssdlite_600e.py', '../_base_/default_runtime_det.py'
]
model = dict(
    backbone=dict(
        type='lwmm.GhostNetV2',
        widen_factor=1.0,
        out_indices=(3, 4),
        norm_cfg={{_base_.norm_cfg}},
        init_cfg=dict(type='Pretrained', checkpoint='timm://ghostnetv2_100.in1k', prefix='backbone.')),
    neck=dict(in_channels=(112, 960), out_channels=(112, 960, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(112, 960, 512, 256, 256, 128)))
