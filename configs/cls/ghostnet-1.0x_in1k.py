_base_ = [
    '../_base_/models/ghostnet_cls.py', '../_base_/datasets/imagenet_224.py',
    '../_base_/schedules/ghostnet_rmsprop_450e.py', '../_base_/default_runtime_cls.py'
]
