# GhostNetV2 1.0x (Tang et al., NeurIPS 2022) on Fashion-MNIST at 32x32 from scratch, paired with
# ghostnet-1.0x_fashion-mnist.py (same head and recipe). At 32 px the DFC branch's 2x2 pool sees maps of
# 8x8 down to 1x1: the attention is almost global there, which the paper's 224 px never tests.
_base_ = ['./ghostnet-1.0x_fashion-mnist.py']
model = dict(backbone=dict(type='lwmm.GhostNetV2'))
