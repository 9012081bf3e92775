# The main job (ssdlite_ghostnetv2_shapes.py: same data, schedule and seed) with its backbone starting from a
# GhostNetV2 classifier trained first on the shapes classification split (ghostnetv2-1.0x_shapes.py) instead
# of random weights: transfer as the papers' detectors do it from ImageNet, measured on this machine.
# `make transfer` trains the classifier into the folder below, then both detectors, and prints them side by
# side. The detection head and neck still start from random weights.
classifier_checkpoint = 'work_dirs/transfer_demo/classifier/epoch_3.pth'
_base_ = ['./ssdlite_ghostnetv2_shapes.py']
model = dict(
    backbone=dict(
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=classifier_checkpoint, prefix='backbone.')))
