# SSDLite with GhostNetV2 1.0x, mmdet's SSDLite recipe at 320x320 on COCO (data/coco/).
# Backbone stages 3 (stride 16, 112 ch) and 4 (stride 32, 960 ch) feed the SSD neck.
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
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03)),
    neck=dict(in_channels=(112, 960), out_channels=(112, 960, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(112, 960, 512, 256, 256, 128)))
