# RetinaNet + FPN with DY-ResNet-18, mmdet's 1x schedule on COCO (data/coco/), as mmdet's
# retinanet_r18_fpn_1x_coco with the backbone swapped. Backbone stages 0-3 (strides 4-32; 64, 128, 256,
# 512 channels); FPN from stride 8. The backbone starts from its static twin's ImageNet weights,
# torchvision's ResNet-18 as timm publishes it (timm://resnet18.tv_in1k, the weights mmdet's
# retinanet_r18 starts from): each of the K kernels of a dynamic conv is a copy of the static kernel, so it
# starts as ResNet-18 exactly (docs/pretrained.md); the temperature stays at 1 (no hook). An ImageNet-
# trained DY-ResNet-18 (configs/cls/dy-resnet18_in1k.py, the paper's protocol) loads the same way: set
# its file as the checkpoint. Inputs: ImageNet mean/std on RGB (mmdet's data_preprocessor).
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.DYResNet',
        depth=18,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,  # the stem and the first residual layer, as mmdet's ResNet
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='timm://resnet18.tv_in1k', prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512], start_level=1, add_extra_convs='on_input', num_outs=5))
