# DeepLabV3 with MobileViT-XS on PASCAL VOC 2012 + SBD: the MobileViT-S recipe; ASPP on 96 channels,
# auxiliary head on 80.
_base_ = ['./deeplabv3_mobilevit-s_voc12aug.py']
model = dict(
    backbone=dict(arch='x_small', drop_rate=0.1, init_cfg=dict(checkpoint='timm://mobilevit_xs.cvnets_in1k')),
    decode_head=dict(in_channels=96),
    auxiliary_head=dict(in_channels=80))
