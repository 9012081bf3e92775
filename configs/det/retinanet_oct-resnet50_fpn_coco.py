# RetinaNet + FPN with Oct-ResNet-50 (alpha 0.5), mmdet's 1x schedule on COCO (data/coco/), as mmdet's
# retinanet_r50_fpn_1x_coco with the backbone swapped. Each stage hands FPN one tensor (high part and
# upsampled low part concatenated), so FPN's in_channels are ResNet-50's. frozen_stages=0 freezes the stem
# and res2 (lwmm's stage 0), as mmdet's frozen_stages=1. The backbone is meant to start from an
# ImageNet-trained Oct-ResNet-50 (add init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')).
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.OctResNet',
        depth=50,
        alpha=0.5,
        out_indices=(0, 1, 2, 3),
        frozen_stages=0,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
