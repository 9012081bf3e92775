# mmseg's stock FCN R-50-D8 (ADE20K, 512x512) with lwmm.DYMobileNetV2 1.0x at output stride 8. DY networks
# have no published weights: they start from the static MobileNetV2's (each of the K kernels a copy).
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='lwmm.DYMobileNetV2',
        widen_factor=1.0,
        out_stride=8,
        out_indices=(3, 4),  # 96 and 1280 channels, both at stride 8
        init_cfg=dict(type='Pretrained', checkpoint='timm://mobilenetv2_100.ra_in1k', prefix='backbone.')),
    decode_head=dict(in_channels=1280, in_index=1),
    auxiliary_head=dict(in_channels=96, in_index=0))
