# DeepLabV3 with GhostNetV2 1.0x on ADE20K (data/ade/ADEChallengeData2016), 512x512, 160k iterations,
# the GhostNetV2 paper's segmentation setting. Output stride 8 (the last two stages dilated); ASPP on
# stage 4 (960 ch), the auxiliary FCN head on stage 3 (112 ch).
_base_ = '../_base_/deeplabv3_ade20k_512.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.GhostNetV2',
        widen_factor=1.0,
        out_indices=(3, 4),
        out_stride=8,
        norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(in_channels=960, in_index=1, num_classes=150),
    auxiliary_head=dict(in_channels=112, in_index=0, num_classes=150))
