# DeepLabV3 with GhostNetV2 1.0x on ADE20K (data/ade/ADEChallengeData2016), 512x512, 160k iterations,
# the GhostNetV2 paper's segmentation setting. Output stride 8 (the last two stages dilated); ASPP on
# stage 4 (960 ch), the auxiliary FCN head on stage 3 (112 ch). The backbone starts from timm's ImageNet
# weights (timm://ghostnetv2_100.in1k, Huawei's release converted on load; docs/pretrained.md), input RGB
# with ImageNet mean/std as those weights expect (mmseg's data_preprocessor, timm's pretrained_cfg).
# Nothing frozen, BatchNorm trained (SyncBN), as in mmseg's DeepLabV3 recipe.
_base_ = '../_base_/deeplabv3_ade20k_512.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.GhostNetV2',
        widen_factor=1.0,
        out_indices=(3, 4),
        out_stride=8,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(type='Pretrained', checkpoint='timm://ghostnetv2_100.in1k', prefix='backbone.')),
    decode_head=dict(in_channels=960, in_index=1, num_classes=150),
    auxiliary_head=dict(in_channels=112, in_index=0, num_classes=150))
