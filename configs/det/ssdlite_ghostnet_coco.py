# SSDLite with GhostNet 1.0x (same channels as GhostNetV2 1.0x), mmdet's SSDLite recipe.
_base_ = './ssdlite_ghostnetv2_coco.py'
model = dict(backbone=dict(type='lwmm.GhostNet'))
