# DeepLabV3 with GhostNetV2 1.0x on ADE20K (data/ade/ADEChallengeData2016), 512x512, 160k iterations,
# the GhostNetV2 paper's segmentation setting. Output stride 8 (the last two stages dilated); ASPP on
# stage 4 (960 ch), the auxiliary FCN head on stage 3 (112 ch).
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/schedules/schedule_160k.py', '../_base_/default_runtime_seg.py'
]
crop_size = (512, 512)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='lwmm.GhostNetV2',
        widen_factor=1.0,
        out_indices=(3, 4),
        out_stride=8,
        norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(in_channels=960, in_index=1, num_classes=150),
    auxiliary_head=dict(in_channels=112, in_index=0, num_classes=150))
