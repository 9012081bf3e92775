# Oct-ResNet-50, alpha 0.5, on ImageNet-1k (data/imagenet/), batch 1024 (8 x 128), the OctConv recipe.
# Published (Chen et al., ICCV 2019): 25.6M params, 2.4G MACs, 77.4 top-1; d-li14's reproduction:
# 25.557M / 2.367 GFLOPs / 77.64 (cosine, 120 epochs). Our count: 25.557M, 2.367G.
_base_ = [
    '../_base_/models/oct_resnet50_cls.py', 'mmpretrain::_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/octconv_sgd_cosine_120e.py', '../_base_/default_runtime_cls.py'
]
model = dict(backbone=dict(alpha=0.5))
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
