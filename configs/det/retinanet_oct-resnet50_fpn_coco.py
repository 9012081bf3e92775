# RetinaNet + FPN with Oct-ResNet-50 (alpha 0.5), mmdet's 1x schedule on COCO (data/coco/), as mmdet's
# retinanet_r50_fpn_1x_coco with the backbone swapped. Each stage hands FPN one tensor (high part and
# upsampled low part concatenated), so FPN's in_channels are ResNet-50's. frozen_stages=1 freezes the stem
# and res2 (lwmm's stage 0), as it does in mmdet's ResNet.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
# Backbone weights. The paper fine-tunes an ImageNet-trained Oct-ResNet-50 (alpha 0.5): train one with
# configs/cls/oct-resnet50-a0.5_in1k.py and set `imagenet_checkpoint` to its file (a missing file is an
# error that names it). Left at None, the backbone starts from timm's ResNet-50 ImageNet weights
# (torchvision's, timm://resnet50.tv_in1k, the weights mmdet's ResNet-50 configs start from) sliced into
# the four octave paths (lwmm.converters.octconv): a warm start, not the paper's protocol (the
# low-frequency paths see half-resolution maps the vanilla kernels were not trained on). Inputs: ImageNet
# mean/std on RGB (mmdet's data_preprocessor).
imagenet_checkpoint = None
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.OctResNet',
        depth=50,
        alpha=0.5,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=imagenet_checkpoint or 'timm://resnet50.tv_in1k',
                      prefix='backbone.')),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
