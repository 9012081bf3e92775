_base_ = './ghostnet-1.0x_in1k.py'
model = dict(backbone=dict(type='lwmm.GhostNetV2'))
