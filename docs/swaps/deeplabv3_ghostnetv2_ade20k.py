# mmseg's stock DeepLabV3 R-50-D8 (ADE20K, 512x512) with lwmm.GhostNetV2 1.0x at output stride 8.
_base_ = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-80k_ade20k-512x512.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='lwmm.GhostNetV2',
        widen_factor=1.0,
        out_stride=8,
        out_indices=(3, 4),  # 112 and 960 channels, both at stride 8
        init_cfg=dict(type='Pretrained', checkpoint='timm://ghostnetv2_100.in1k', prefix='backbone.')),
    decode_head=dict(in_channels=960, in_index=1),  # ASPP on the last stage
    auxiliary_head=dict(in_channels=112, in_index=0))
