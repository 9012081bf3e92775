# SSDLite with Oct-MobileNetV2 1.0x (alpha 0.375), mmdet's SSDLite-MobileNetV2 recipe at 320x320 on COCO
# (data/coco/). Backbone stages 3 (stride 16, 96 ch) and 4 (stride 32, 1280 ch: the final 1x1 conv) feed
# the SSD neck, as mmdet's MobileNetV2 out_indices (4, 7); block outputs are single tensors already.
_base_ = [
    '../_base_/models/ssdlite.py', '../_base_/datasets/coco_ssdlite_320.py',
    '../_base_/schedules/ssdlite_600e.py', '../_base_/default_runtime_det.py'
]
# Backbone weights. The paper fine-tunes an ImageNet-trained Oct-MobileNetV2 1.0x: train one with
# configs/cls/oct-mobilenetv2_in1k.py and set `imagenet_checkpoint` to its file (a missing file is an
# error that names it). Left at None, the backbone starts from timm's MobileNetV2 1.0x ImageNet weights
# sliced into the four octave paths (timm://mobilenetv2_100.ra_in1k, lwmm.converters.octconv; the first
# block's extra split conv, which MobileNetV2 lacks, keeps its initialisation): a warm start, not the
# paper's protocol (the low-frequency paths see half-resolution maps the vanilla kernels were not trained
# on). Inputs: ImageNet mean/std on RGB (the base's data_preprocessor).
imagenet_checkpoint = None
model = dict(
    backbone=dict(
        type='lwmm.OctMobileNetV2',
        widen_factor=1.0,
        alpha=0.375,
        out_indices=(3, 4),
        norm_cfg={{_base_.norm_cfg}},
        act_cfg=dict(type='ReLU6'),
        init_cfg=[
            dict(type='TruncNormal', layer='Conv2d', std=0.03),
            dict(type='Pretrained', checkpoint=imagenet_checkpoint or 'timm://mobilenetv2_100.ra_in1k',
                 prefix='backbone.')
        ]),
    neck=dict(in_channels=(96, 1280), out_channels=(96, 1280, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(96, 1280, 512, 256, 256, 128)))
