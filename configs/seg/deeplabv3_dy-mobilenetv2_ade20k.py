# DeepLabV3 with DY-MobileNetV2 x1.0 on ADE20K (data/ade/ADEChallengeData2016), 512x512, 160k iterations,
# as mmseg's DeepLabV3-MobileNetV2 with the backbone swapped. Output stride 8 (the last two stages
# dilated); ASPP on stage 4 (1280 ch, after the final 1x1 conv), the auxiliary FCN head on stage 3 (96 ch).
# The backbone starts from its static twin's ImageNet weights (timm://mobilenetv2_100.ra_in1k; each of
# the K kernels a copy of the static kernel, so it starts as MobileNetV2 exactly; temperature 1, no hook;
# docs/pretrained.md). An ImageNet-trained DY-MobileNetV2 (configs/cls/dy-mobilenetv2-1.0x_in1k.py, the
# paper's protocol) loads the same way: set its file as the checkpoint. Inputs: ImageNet mean/std on RGB
# (mmseg's data_preprocessor), BN eps 1e-5 as timm's weights.
_base_ = '../_base_/deeplabv3_ade20k_512.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.DYMobileNetV2',
        widen_factor=1.0,
        out_indices=(3, 4),
        out_stride=8,
        norm_cfg=dict(type='SyncBN', requires_grad=True, eps=1e-5),
        init_cfg=dict(type='Pretrained', checkpoint='timm://mobilenetv2_100.ra_in1k', prefix='backbone.')),
    decode_head=dict(in_channels=1280, in_index=1, num_classes=150),
    auxiliary_head=dict(in_channels=96, in_index=0, num_classes=150))
