import pytest
import torch.nn as nn

from lwmm.models.backbones import mobilenet_v2
from lwmm.models.backbones.dy_mobilenet import DYMobileNetV2
from lwmm.models.backbones.oct_mobilenet import OctMobileNetV2


def _params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('widen_factor', [0.35, 1.01, 1.4])
def test_dy_and_oct_are_mmpretrain_mobilenetv2(widen_factor):
    """Both networks take the one table and final-width rule, mmpretrain's at every factor (1.01: 1292 final
    channels, where rounding to 8 would give 1296)."""
    from mmpretrain.models.backbones import MobileNetV2
    reference = MobileNetV2(widen_factor=widen_factor)
    static_dy = DYMobileNetV2(widen_factor=widen_factor, rule=lambda *args: False)
    vanilla_oct = OctMobileNetV2(widen_factor=widen_factor, alpha=0)
    assert static_dy.stage_channels == vanilla_oct.stage_channels
    assert static_dy.stage_channels[-1] == reference.out_channel == mobilenet_v2.final_width(widen_factor)
    assert _params(static_dy) == _params(vanilla_oct) == _params(reference)


def test_stages_group_the_table_by_stride():
    calls = []

    def block(row, in_channels, out_channels, stride, expand_ratio):
        calls.append((row, in_channels, out_channels, stride, expand_ratio))
        return nn.Identity()

    stages, channels = mobilenet_v2.build_stages(1.0, stem=lambda out: nn.Identity(), block=block,
                                                 final=lambda in_channels, out: nn.Identity())
    assert channels == (16, 24, 32, 96, 1280)
    assert [len(stage) for stage in stages] == [2, 2, 3, 7, 5]
    assert len(calls) == sum(row[2] for row in mobilenet_v2.ARCH_SETTINGS) == 17
    assert calls[0] == (0, 32, 16, 1, 1) and calls[-1] == (6, 160, 320, 1, 6)
