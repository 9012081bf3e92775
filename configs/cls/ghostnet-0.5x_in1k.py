_base_ = './ghostnet-1.0x_in1k.py'
model = dict(backbone=dict(widen_factor=0.5), head=dict(in_channels=480))
