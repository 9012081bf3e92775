# ImageNet-1k at 224 (data/imagenet/, mmpretrain's layout), batch 128 per GPU, the MobileNetV3-style
# augmentation the GhostNet papers train with.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs128_mbv3.py'
