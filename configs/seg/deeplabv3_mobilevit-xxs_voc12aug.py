# DeepLabV3 with MobileViT-XXS on PASCAL VOC 2012 + SBD: the MobileViT-S recipe with transformer dropout
# 0.05; ASPP on 80 channels, auxiliary head on 64.
_base_ = ['./deeplabv3_mobilevit-s_voc12aug.py']
model = dict(
    backbone=dict(arch='xx_small', drop_rate=0.05, init_cfg=dict(checkpoint='timm://mobilevit_xxs.cvnets_in1k')),
    decode_head=dict(in_channels=80),
    auxiliary_head=dict(in_channels=64))
