# DY-MobileNetV3-Large on ImageNet-1k. The DY-CNN paper (Chen et al., CVPR 2020) evaluates only the Small
# arch; this is its MobileNetV3 recipe (configs/cls/dy-mobilenetv3-small_in1k.py: K = 4, attention
# reduction 4, SGD lr 0.1 cosine, wd 3e-5, 300 epochs, batch 256, dropout 0.2, temperature 30 -> 1 over
# 10 epochs) on the Large arch, with MobileNetV3-Large's head 960 -> 1280 (hard-swish) -> 1000.
_base_ = './dy-mobilenetv3-small_in1k.py'

model = dict(backbone=dict(arch='large'), head=dict(in_channels=960))
