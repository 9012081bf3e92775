# mmdet's stock RetinaNet R-50 FPN with lwmm.GhostNet 1.0x, from timm's ImageNet weights.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.GhostNet',
        widen_factor=1.0,
        out_indices=(1, 2, 3, 4),  # as ResNet's (0, 1, 2, 3); FPN's start_level=1 skips the stride-4 one
        frozen_stages=2,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='timm://ghostnet_100.in1k', prefix='backbone.')),
    neck=dict(in_channels=[24, 40, 112, 960]))
