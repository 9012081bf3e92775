"""A linear classification head with dropout before the linear layer (MobileViT's classifier)."""
from typing import Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import LinearClsHead

from lwmm.registry import MODELS


@MODELS.register_module()
class DropoutLinearClsHead(LinearClsHead):
    """mmpretrain's ``LinearClsHead`` with dropout on the pooled features, as the MobileViT paper's
    classifier (global pool, dropout 0.1, linear). mmpretrain's own head has no dropout argument.

    Args:
        dropout_rate (float): Dropout probability before ``fc``, in [0, 1).
        **kwargs: ``LinearClsHead``'s arguments (``num_classes``, ``in_channels``, ``loss``, ``topk``,
            ``init_cfg``). The state dict keys are the same (``fc.weight``, ``fc.bias``).
    """

    def __init__(self, dropout_rate: float = 0., **kwargs):
        # checked first: the parent builds the loss, which fails for another reason under a foreign scope
        if not 0 <= dropout_rate < 1:
            raise ValueError(f'DropoutLinearClsHead: dropout_rate={dropout_rate!r} must be in [0, 1).')
        super().__init__(**kwargs)
        self.dropout = nn.Dropout(dropout_rate)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.dropout(feats[-1])
