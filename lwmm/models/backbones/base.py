"""The backbone contract shared by every lwmm backbone (see DESIGN.md, "Backbone contract")."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.utils import _pair

from ..layers.validation import check_choice, check_input  # noqa: F401  (backbones import check_choice here)
from ..layers.validation import check_keywords

# keys of mmdet's / mmseg's / mmpretrain's ResNet backbone dicts that stay when a config replaces the backbone
# without ``_delete_=True`` (mmengine merges the new dict into the stock one)
STOCK_BACKBONE_KEYS = ('depth', 'num_stages', 'strides', 'dilations', 'style', 'stem_channels', 'base_channels',
                       'deep_stem', 'avg_down', 'contract_dilation', 'multi_grid', 'dcn', 'stage_with_dcn', 'plugins',
                       'zero_init_residual', 'conv_cfg')


def pretrained_fix(cls) -> str:
    """What to write instead of ``pretrained=`` (mmseg's EncoderDecoder hands ``model.pretrained`` to the
    backbone; its stock configs set it to a ResNet checkpoint); the config check gives the same text."""
    checkpoint = getattr(cls, 'timm_weights', None) or 'timm://<model>.<tag>'
    return (f"{cls.__name__} loads weights through init_cfg, not pretrained= (mmseg passes model.pretrained "
            f"into the backbone): set model.pretrained=None and model.backbone.init_cfg=dict(type='Pretrained', "
            f"checkpoint='{checkpoint}', prefix='backbone.') (other tags: docs/pretrained.md)")


class BackboneArguments:
    """Checks a backbone's constructor keywords before ``__init__`` runs, so whichever tool builds it (lwmm's,
    mmdet's or mmseg's ``tools/train.py``, ``MODELS.build``) says what to change: the old backbone's keys
    (``_delete_=True``), ``pretrained`` (``init_cfg``), the family's own hints, else "did you mean"."""

    #: a ``timm://`` checkpoint of this family that the ``pretrained`` hint names (docs/pretrained.md)
    timm_weights: Optional[str] = None
    #: keyword -> fix for arguments users bring from other families (e.g. MobileViT's ``widen_factor``)
    argument_hints: Dict[str, str] = {}

    def __new__(cls, *args, **kwargs):
        merged = ("the old backbone's keys were merged in: add _delete_=True to the backbone dict "
                  f"(model.backbone=dict(_delete_=True, type='lwmm.{cls.__name__}', ...))")
        fixes = dict.fromkeys(STOCK_BACKBONE_KEYS, merged)
        fixes.update(pretrained=pretrained_fix(cls), **cls.argument_hints)
        check_keywords(cls, kwargs, fixes)
        return super().__new__(cls)


class StagedBackbone(BackboneArguments, BaseModule):
    """A backbone made of ``self.stages``, each an ``nn.Sequential`` of blocks with a fixed output stride.

    Subclasses build ``self.stages`` (the stem: the first ``stem_length`` modules of stage 0) and then call
    ``self._init_contract()``, which validates ``out_indices`` / ``frozen_stages`` against the number of
    stages, applies the output stride by dilation, and freezes stages. Stage ``i`` of every family has the
    stride listed in its docstring; ``forward`` returns the outputs of the stages in ``out_indices``, in
    that order.

    ``frozen_stages`` counts as mmdet's and mmpretrain's ResNet and mmpretrain's MobileNetV2 do: 0 freezes
    the stem alone, ``k`` the stem and the first ``k`` stages (0..k-1), so that stock configs' numbers
    freeze the same layers (ResNet-shaped families: exactly; the others: docs/backbones.md, "frozen_stages").

    Args:
        out_indices (Sequence[int]): Stages whose outputs are returned.
        frozen_stages (int): -1: nothing frozen; 0: the stem; ``k`` in 1..num_stages: the stem and stages
            ``0..k-1``. Frozen modules are in eval mode and get no gradient.
        norm_eval (bool): Keep every BatchNorm in eval mode while training (frozen statistics).
        with_cp (bool): Gradient checkpointing of each block, trading compute for memory.
        out_stride (int): Total stride of the last stage: 32 (as published), 16 or 8 by replacing the
            strides of the last stages with dilation (dense prediction, as DeepLabV3).
        init_cfg (dict or list[dict], optional): mmengine initialisation, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
    """

    #: output strides a subclass accepts for ``out_stride``
    out_stride_choices = (8, 16, 32)
    #: the first modules of stage 0 that form the stem, which ``frozen_stages=0`` freezes alone
    stem_length = 1

    def __init__(self,
                 out_indices: Sequence[int] = (-1, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 out_stride: int = 32,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        if not isinstance(out_indices, (list, tuple)) or not out_indices:
            raise ValueError(f'{name}: out_indices must be a non-empty tuple of stage indices, '
                             f'got {out_indices!r}.')
        check_choice(name, 'out_stride', out_stride, self.out_stride_choices)
        self._out_indices_arg = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.out_stride = out_stride

    # -- contract -----------------------------------------------------------------------------------
    #: output stride of each stage as published (the five-stage mobile layout); families with other
    #: layouts set their own, or override ``stage_strides`` where the arch decides
    published_strides: Tuple[int, ...] = (2, 4, 8, 16, 32)

    @property
    def stage_strides(self) -> Tuple[int, ...]:
        """Output stride of each stage as published (before any dilation)."""
        return self.published_strides

    @property
    def stage_channels(self) -> Tuple[int, ...]:
        """Output channels of each stage (``self._stage_channels``, which subclasses set as they build)."""
        return self._stage_channels

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Channels of the returned outputs, in order: what a neck's ``in_channels`` must be."""
        return tuple(self.stage_channels[i] for i in self.out_indices)

    def _init_contract(self) -> None:
        name = type(self).__name__
        num_stages = len(self.stages)
        out_indices = []
        for index in self._out_indices_arg:
            if not isinstance(index, int) or not -num_stages <= index < num_stages:
                raise ValueError(f'{name}: out_indices contains {index!r}, but this arch has {num_stages} '
                                 f'stages: use indices in [0, {num_stages - 1}] (or negative from the end).')
            out_indices.append(index % num_stages)
        self.out_indices = tuple(out_indices)
        # the stem's conv fixes the image channels the forward input must have
        self._input_channels = next(m.in_channels for m in self.stages[0].modules() if isinstance(m, nn.Conv2d))
        if (isinstance(self.frozen_stages, bool) or not isinstance(self.frozen_stages, int)
                or not -1 <= self.frozen_stages <= num_stages):
            raise ValueError(f'{name}: frozen_stages={self.frozen_stages!r} is out of range: use -1 (none), 0 (the '
                             f'stem) or k in 1..{num_stages} (the stem and the first k of the {num_stages} stages).')
        self._apply_out_stride()
        self._freeze_stages()

    def _apply_out_stride(self) -> None:
        """Turn the strides of the stages past ``out_stride`` into dilation (DeepLab's atrous trick)."""
        dilation = 1
        for stage, stride in zip(self.stages, self._stage_step_strides()):
            if stride == 1:
                if dilation > 1:
                    self.dilate_stage(stage, dilation, dilation)
                continue
            reached = self._stride_before(stage)
            if reached >= self.out_stride:
                previous = dilation
                dilation *= stride
                self.dilate_stage(stage, previous, dilation)

    def _stage_step_strides(self):
        strides, previous = [], 1
        for stride in self.stage_strides:
            strides.append(stride // previous)
            previous = stride
        return strides

    def _stride_before(self, stage) -> int:
        index = list(self.stages).index(stage)
        return 1 if index == 0 else self.stage_strides[index - 1]

    def dilate_stage(self, stage: nn.Module, first_dilation: int, dilation: int) -> None:
        """Remove the stride of ``stage`` and dilate its spatial convs.

        The strided conv takes ``first_dilation`` (the dilation before this stage) and every later conv
        ``dilation``, which keeps the receptive field of the published network. Families whose blocks
        downsample by other means (pooling, patches) override this; those that dilate only some of the
        convs override :meth:`dilated_convs`, those with their own conv layers :meth:`dilate_conv`.
        """
        seen_stride = False
        for module in self.dilated_convs(stage):
            if _pair(module.stride) != (1, 1):
                current, seen_stride = first_dilation, True
            else:
                current = dilation if seen_stride else first_dilation
            self.dilate_conv(module, current)

    @staticmethod
    def dilate_conv(conv: nn.Conv2d, dilation: int) -> None:
        """Drop ``conv``'s stride and, when it is spatial, dilate it with the padding that keeps its size."""
        conv.stride = (1, 1)
        if max(conv.kernel_size) > 1:
            conv.dilation = (dilation, dilation)
            conv.padding = tuple(dilation * (k - 1) // 2 for k in conv.kernel_size)

    def dilated_convs(self, stage: nn.Module) -> List[nn.Conv2d]:
        """The convs of ``stage`` that :meth:`dilate_stage` changes, in order: every strided or spatial one."""
        return [module for module in stage.modules()
                if isinstance(module, nn.Conv2d) and (max(module.kernel_size) > 1 or module.stride != (1, 1))]

    # -- running --------------------------------------------------------------------------------------
    def forward_stage(self, stage: nn.Sequential, x):
        for block in stage:
            if self.with_cp and self.training and isinstance(x, torch.Tensor) and x.requires_grad:
                x = cp.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x

    def stage_output(self, x):
        """What a stage hands to a neck; families with multi-part features (OctConv) override it."""
        return x

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        check_input(type(self).__name__, x, self._input_channels)
        outs = {}
        for index, stage in enumerate(self.stages):
            x = self.forward_stage(stage, x)
            if index in self.out_indices:
                outs[index] = self.stage_output(x)
        # in the order of out_indices, as out_channels lists them
        return tuple(outs[index] for index in self.out_indices)

    def frozen_modules(self) -> Tuple[nn.Module, ...]:
        """What ``frozen_stages`` freezes: nothing (-1), the stem (0), or the stem and stages ``0..k-1`` (k)."""
        if self.frozen_stages < 0:
            return ()
        if self.frozen_stages == 0:
            return tuple(self.stages[0])[:self.stem_length]
        return tuple(self.stages[:self.frozen_stages])

    def init_weights(self) -> None:
        """mmengine's initialisation; a ``Pretrained`` checkpoint may also be a published format (timm, the
        authors' releases) or, for octave backbones, vanilla weights (``lwmm.converters.pretrained``)."""
        from lwmm.converters.pretrained import load_pretrained
        load_pretrained(self, super().init_weights)
        pretrained = isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained'
        if getattr(self, 'zero_init_residual', False) and not pretrained:
            for norm in self.residual_last_norms():  # residual blocks start as identity
                constant_init(norm, 0)

    def residual_last_norms(self) -> List[nn.Module]:
        """The norm at the end of each residual branch, zeroed by ``zero_init_residual`` where a backbone has it."""
        return []

    def _freeze_stages(self) -> None:
        for module in self.frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'StagedBackbone':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
