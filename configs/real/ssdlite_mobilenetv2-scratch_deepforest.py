# mmdet's SSDLite-MobileNetV2 (ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py: mmdet's MobileNetV2,
# stages 4 and 7 at strides 16 and 32, random weights) on DeepForest's tree-crown tiles, the baseline of
# ssdlite_ghostnetv2-scratch_deepforest.py: the same lwmm.SSDHead (mmdet 3.3.0's SSDHead cannot predict),
# anchors, data and schedule.
_base_ = ['./ssdlite_ghostnetv2-scratch_deepforest.py']
model = dict(
    backbone=dict(_delete_=True, type='MobileNetV2', out_indices=(4, 7), act_cfg=dict(type='ReLU6'),
                  norm_cfg={{_base_.norm_cfg}}, init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03)),
    neck=dict(in_channels=(96, 1280), out_channels=(96, 1280, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(96, 1280, 512, 256, 256, 128)))
