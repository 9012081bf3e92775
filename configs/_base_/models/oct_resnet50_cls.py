# Oct-ResNet-50 ImageNet classifier (Chen et al., ICCV 2019): the octave backbone (res2-res4 at `alpha`,
# res5 vanilla), global pooling and the ResNet-50 linear head. Configs set `model.backbone.alpha`.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='lwmm.OctResNet', depth=50, alpha=0.5, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
