# mmdet's stock Faster R-CNN R-50 FPN with lwmm.GhostNetV2 1.0x, from timm's ImageNet weights.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,  # drop ResNet's depth, num_stages, style, ... which GhostNetV2 does not take
        type='lwmm.GhostNetV2',
        widen_factor=1.0,
        out_indices=(1, 2, 3, 4),  # strides 4, 8, 16, 32, as ResNet's (0, 1, 2, 3)
        frozen_stages=2,  # the stem and every feature up to stride 4, as ResNet's frozen_stages=1
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='timm://ghostnetv2_100.in1k', prefix='backbone.')),
    neck=dict(in_channels=[24, 40, 112, 960]))
