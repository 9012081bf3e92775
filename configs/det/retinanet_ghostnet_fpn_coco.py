# RetinaNet + FPN with GhostNet 1.0x, 1x schedule on COCO (data/coco/), the GhostNet paper's detection
# setting. Backbone stages 1-4 (strides 4, 8, 16, 32; 24, 40, 112, 960 channels); FPN from stride 8.
# The backbone starts from the ImageNet weights timm publishes (timm://ghostnet_100.in1k, converted to lwmm's
# keys on load; docs/pretrained.md), as the paper's backbone did (the paper's detector is GhostNet 1.1x,
# whose weights were never published; 1.0x is the nearest published width). The input is normalised as
# those weights expect, RGB with ImageNet mean/std (the base's data_preprocessor, timm's pretrained_cfg).
# On those weights mmdet's recipe applies: the early layers frozen, every BatchNorm in eval mode (norm_eval).
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.GhostNet',
        widen_factor=1.0,
        out_indices=(1, 2, 3, 4),
        frozen_stages=1,  # the stem and stage 0 (stride 2)
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='timm://ghostnet_100.in1k', prefix='backbone.')),
    neck=dict(in_channels=[24, 40, 112, 960], start_level=1, add_extra_convs='on_output', num_outs=5))
