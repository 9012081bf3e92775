# RetinaNet + FPN with GhostNet 1.0x, 1x schedule on COCO (data/coco/), the GhostNet paper's detection
# setting. Backbone stages 1-4 (strides 4, 8, 16, 32; 24, 40, 112, 960 channels); FPN from stride 8.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.GhostNet',
        widen_factor=1.0,
        out_indices=(1, 2, 3, 4),
        frozen_stages=0,
        norm_eval=True),
    neck=dict(in_channels=[24, 40, 112, 960], start_level=1, add_extra_convs='on_output', num_outs=5))
