# mmpretrain's stock ResNet-50 ImageNet classifier with lwmm.MobileViT xx_small as its backbone, fine-tuned
# from timm's weights (a new head: configs/cls/mobilevit-xxs_in1k.py is the paper's whole classifier).
_base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
data_preprocessor = dict(mean=[0, 0, 0], std=[255, 255, 255], to_rgb=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.MobileViT',
        arch='xx_small',
        out_indices=(4, ),  # the last stage, after the 1x1 expansion: 320 channels
        init_cfg=dict(type='Pretrained', checkpoint='timm://mobilevit_xxs.cvnets_in1k', prefix='backbone.')),
    head=dict(in_channels=320))
