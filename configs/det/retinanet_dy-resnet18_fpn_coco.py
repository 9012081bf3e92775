# RetinaNet + FPN with DY-ResNet-18, mmdet's 1x schedule on COCO (data/coco/), as mmdet's
# retinanet_r18_fpn_1x_coco with the backbone swapped. Backbone stages 0-3 (strides 4-32; 64, 128, 256,
# 512 channels); FPN from stride 8. The backbone is meant to start from an ImageNet-trained DY-ResNet-18
# (add init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')), whose temperature has been
# annealed to 1 already: no temperature hook here.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.DYResNet',
        depth=18,
        out_indices=(0, 1, 2, 3),
        frozen_stages=0,
        norm_eval=True),
    neck=dict(in_channels=[64, 128, 256, 512], start_level=1, add_extra_convs='on_input', num_outs=5))
