_base_ = './ghostnet-1.0x_in1k.py'
model = dict(backbone=dict(type='lwmm.GhostNetV2', widen_factor=1.3), head=dict(in_channels=1248))
