# MobileViT-XXS on ImageNet-1k: the MobileViT-S recipe with transformer dropout 0.05 (ml-cvnets'
# mobilevit_xx_small.yaml); 320-channel features.
_base_ = ['./mobilevit-s_in1k.py']
model = dict(backbone=dict(arch='xx_small', drop_rate=0.05), head=dict(in_channels=320))
