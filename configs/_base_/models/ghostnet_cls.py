# GhostNet 1.0x ImageNet classifier: backbone (stages up to the 960-channel 1x1 conv), global pooling,
# and the paper's head: 1x1 conv to 1280 with bias (a linear on the pooled vector), ReLU, dropout 0.2,
# linear classifier. Width variants change `widen_factor` and the head's `in_channels`.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='lwmm.GhostNet', widen_factor=1.0),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='StackedLinearClsHead',
        num_classes=1000,
        in_channels=960,
        mid_channels=[1280],
        dropout_rate=0.2,
        norm_cfg=None,
        act_cfg=dict(type='ReLU'),
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)))
