# SSDLite with GhostNet 1.0x (same channels as GhostNetV2 1.0x), mmdet's SSDLite recipe, from timm's ImageNet
# weights (timm://ghostnet_100.in1k, Huawei's release; same normalisation as ssdlite_ghostnetv2_coco.py).
# The from-scratch reference: ssdlite_ghostnet-scratch_coco.py.
_base_ = './ssdlite_ghostnetv2_coco.py'
model = dict(
    backbone=dict(
        type='lwmm.GhostNet',
        init_cfg=dict(type='Pretrained', checkpoint='timm://ghostnet_100.in1k', prefix='backbone.')))
