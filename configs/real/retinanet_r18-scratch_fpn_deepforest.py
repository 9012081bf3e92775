# mmdet's RetinaNet-ResNet-18 (retinanet/retinanet_r18_fpn_1x_coco.py) from random weights on DeepForest's
# tree-crown tiles, the baseline of retinanet_ghostnet-scratch_fpn_deepforest.py: same FPN (from stride 8),
# head, data and schedule.
_base_ = ['./retinanet_ghostnet-scratch_fpn_deepforest.py']
model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=18, num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=-1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch', init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]))
