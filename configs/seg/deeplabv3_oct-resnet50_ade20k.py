# DeepLabV3 with Oct-ResNet-50 (alpha 0.5) on ADE20K (data/ade/ADEChallengeData2016), 512x512, 160k
# iterations, mmseg's deeplabv3_r50-d8 setting with the backbone swapped. Output stride 8 (res4 and res5
# dilated 2 and 4; octave layers drop their pooling stride the same way); ASPP on stage 3 (2048 ch), the
# auxiliary FCN head on stage 2 (1024 ch: high part and upsampled low part concatenated).
_base_ = '../_base_/deeplabv3_ade20k_512.py'
# Backbone weights. The paper fine-tunes an ImageNet-trained Oct-ResNet-50 (alpha 0.5): train one with
# configs/cls/oct-resnet50-a0.5_in1k.py and set `imagenet_checkpoint` to its file (a missing file is an
# error that names it). Left at None, the backbone starts from timm's ResNet-50 ImageNet weights
# (torchvision's, timm://resnet50.tv_in1k) sliced into the four octave paths (lwmm.converters.octconv): a
# warm start, not the paper's protocol (the low-frequency paths see half-resolution maps the vanilla
# kernels were not trained on). Inputs: ImageNet mean/std on RGB (mmseg's data_preprocessor).
imagenet_checkpoint = None
model = dict(
    backbone=dict(
        _delete_=True,
        type='lwmm.OctResNet',
        depth=50,
        alpha=0.5,
        out_indices=(0, 1, 2, 3),
        out_stride=8,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(type='Pretrained', checkpoint=imagenet_checkpoint or 'timm://resnet50.tv_in1k',
                      prefix='backbone.')),
    decode_head=dict(in_channels=2048, in_index=3, num_classes=150),
    auxiliary_head=dict(in_channels=1024, in_index=2, num_classes=150))
