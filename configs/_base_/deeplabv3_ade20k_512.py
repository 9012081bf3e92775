# DeepLabV3 (ASPP + auxiliary FCN head, mmseg's deeplabv3_r50-d8 model) on ADE20K at 512x512 with mmseg's
# 160k schedule, without a backbone and without mmseg's `pretrained` download: a config adds `backbone`
# and the heads' `in_channels` / `in_index`.
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/schedules/schedule_160k.py', './default_runtime_seg.py'
]
crop_size = (512, 512)
model = dict(pretrained=None, data_preprocessor=dict(size=crop_size), backbone=dict(_delete_=True))
