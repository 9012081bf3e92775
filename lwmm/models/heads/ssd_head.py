"""mmdet's SSD head with the ``loss_cls`` attribute that its predict path reads."""
from mmdet.models.dense_heads import SSDHead as MMDetSSDHead

from lwmm.registry import MODELS


@MODELS.register_module()
class SSDHead(MMDetSSDHead):
    """mmdet 3.3.0's ``SSDHead`` (SSD: Liu et al., ECCV 2016; SSDLite: Sandler et al., CVPR 2018), which
    can predict.

    mmdet's ``SSDHead.__init__`` skips ``AnchorHead.__init__``, so it never sets ``loss_cls`` (SSD's
    classification loss is a cross-entropy with hard negative mining, written inline), yet
    ``BaseDenseHead._predict_by_feat_single`` reads ``self.loss_cls``: validation and test of any
    SSD / SSDLite model crash with AttributeError. This head sets ``loss_cls = None``, which that code
    reads as "no custom classifier activation" and so applies the softmax SSD is trained with. Training,
    arguments and state dict keys are mmdet's. Name it ``type='lwmm.SSDHead'`` in an mmdet config.

    Remove it once mmdet builds ``loss_cls`` itself (tests/models/heads/test_ssd_head.py checks that
    mmdet's head still lacks it).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not hasattr(self, 'loss_cls'):
            self.loss_cls = None
