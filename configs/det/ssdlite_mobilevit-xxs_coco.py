# SSDLite with MobileViT-XXS on COCO at 320x320: the MobileViT-S recipe with transformer dropout 0.05,
# features of 64 and 80 channels, from timm's MobileViT-XXS ImageNet weights.
_base_ = ['./ssdlite_mobilevit-s_coco.py']
model = dict(
    backbone=dict(arch='xx_small', drop_rate=0.05, init_cfg=dict(checkpoint='timm://mobilevit_xxs.cvnets_in1k')),
    neck=dict(in_channels=(64, 80), out_channels=(64, 80, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(64, 80, 512, 256, 256, 128)))
