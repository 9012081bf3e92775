# SSDLite with MobileViT-XS on COCO at 320x320: the MobileViT-S recipe, features of 80 and 96 channels,
# from timm's MobileViT-XS ImageNet weights.
_base_ = ['./ssdlite_mobilevit-s_coco.py']
model = dict(
    backbone=dict(arch='x_small', drop_rate=0.1, init_cfg=dict(checkpoint='timm://mobilevit_xs.cvnets_in1k')),
    neck=dict(in_channels=(80, 96), out_channels=(80, 96, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(80, 96, 512, 256, 256, 128)))
