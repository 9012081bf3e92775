# SSDLite with GhostNet 1.0x trained from scratch (random truncated-normal convs, 600 epochs), as mmdet's
# ssdlite_mobilenetv2-scratch_8xb24-600e_coco. The ImageNet-initialised config: ssdlite_ghostnet_coco.py.
_base_ = ['./ssdlite_ghostnet_coco.py']
model = dict(backbone=dict(init_cfg=dict(_delete_=True, type='TruncNormal', layer='Conv2d', std=0.03)))
