# SSDLite with GhostNetV2 1.0x trained from scratch, as mmdet's ssdlite_mobilenetv2-scratch_8xb24-600e_coco
# trains its backbone: random weights (truncated normal, std 0.03, on every conv) and the 600-epoch schedule
# (120 epochs x RepeatDataset(5)). The ImageNet-initialised config: ssdlite_ghostnetv2_coco.py.
_base_ = ['./ssdlite_ghostnetv2_coco.py']
model = dict(backbone=dict(init_cfg=dict(_delete_=True, type='TruncNormal', layer='Conv2d', std=0.03)))
