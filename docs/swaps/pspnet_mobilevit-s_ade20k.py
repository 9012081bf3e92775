# mmseg's stock PSPNet R-50-D8 (ADE20K, 512x512) with lwmm.MobileViT small at output stride 8.
_base_ = 'mmseg::pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
model = dict(
    pretrained=None,  # mmseg hands model.pretrained to the backbone; lwmm loads through init_cfg
    # timm's MobileViT weights expect RGB in [0, 1], no mean/std
    data_preprocessor=dict(mean=[0, 0, 0], std=[255, 255, 255], bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='lwmm.MobileViT',
        arch='small',
        out_stride=8,  # dilation in stages 3 and 4, as ResNetV1c's dilations=(1, 1, 2, 4)
        out_indices=(3, 4),  # 128 and 640 channels, both at stride 8
        init_cfg=dict(type='Pretrained', checkpoint='timm://mobilevit_s.cvnets_in1k', prefix='backbone.')),
    decode_head=dict(in_channels=640, in_index=1),
    auxiliary_head=dict(in_channels=128, in_index=0))
