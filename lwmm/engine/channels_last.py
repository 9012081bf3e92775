"""channels_last memory format for a Runner's model, switched on from a config.

NHWC is the native layout of oneDNN's (CPU) and cuDNN's (tensor core) convolutions: in NCHW every
convolution reorders its input and output, which the many small convolutions of the mobile networks pay
for on each call. Converting the parameters is enough: a convolution whose weight is channels_last returns
a channels_last output (PyTorch picks the layout from the input or the weight), so activations and
gradients follow from the first convolution on, and the data pipeline stays as it is.

Config (the speed-up per family is measured in docs/benchmarks.md, section "Training step against timm,
and channels_last / torch.compile as config options")::

    custom_hooks = [dict(type='lwmm.ChannelsLastHook')]
    compile = True  # mmengine's own switch: torch.compile of train_step; dict(...) passes compile options
"""
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from lwmm.registry import HOOKS


def to_channels_last(model: nn.Module) -> int:
    """Convert every 4-d parameter and buffer of ``model`` to channels_last in place (the Parameter objects
    stay the same, so an optimizer built before keeps them); returns how many tensors are 4-d."""
    model.to(memory_format=torch.channels_last)
    return sum(t.dim() == 4 for t in list(model.parameters()) + list(model.buffers()))


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Convert the runner's model to channels_last before it runs (train, val or test).

    Priority VERY_HIGH: before EMAHook copies the model in its own ``before_run``, so the averaged copy
    has the same layout. Under DDP the model is already wrapped when hooks run; the conversion keeps the
    parameters' identity (not measured under DDP).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        converted = to_channels_last(model)
        runner.logger.info(f'ChannelsLastHook: {converted} 4-d parameters and buffers are channels_last')
