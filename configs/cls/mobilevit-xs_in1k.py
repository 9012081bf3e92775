# MobileViT-XS on ImageNet-1k: the MobileViT-S recipe (ml-cvnets' mobilevit_x_small.yaml differs only
# in the model); 384-channel features.
_base_ = ['./mobilevit-s_in1k.py']
model = dict(backbone=dict(arch='x_small', drop_rate=0.1), head=dict(in_channels=384))
