# SSDLite-GhostNetV2 1.0x from random weights (configs/det/ssdlite_ghostnetv2-scratch_coco.py) on DeepForest's
# tree-crown tiles (_base_/deepforest_coco_320.py), paired with ssdlite_mobilenetv2-scratch_deepforest.py:
# same head, anchors, data and schedule. SSD's zoom-out/crop augmentation is left out, as in the shapes demo.
_base_ = ['../det/ssdlite_ghostnetv2-scratch_coco.py', './_base_/deepforest_coco_320.py']
model = dict(bbox_head=dict(num_classes=1))
optim_wrapper = dict(optimizer=dict(lr=0.05))
