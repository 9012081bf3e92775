"""lwmm.deploy.tasks.TensorMode: the one wrapper that gives an OpenMMLab model's tensor mode as forward(x)."""
import torch
import torch.nn as nn
from mmengine.model import BaseModel

from lwmm.deploy.tasks import ClassifierLogits, TensorMode, tensor_mode


class _Model(BaseModel):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)
        self.bn = nn.BatchNorm2d(2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        assert mode == 'tensor', mode
        return self.bn(self.conv(inputs)).mean((2, 3))


def test_tensor_mode_wraps_openmmlab_models_only():
    plain = nn.Conv2d(3, 2, 1)
    assert tensor_mode(plain) is plain
    model = _Model().eval()
    wrapped = tensor_mode(model)
    x = torch.randn(2, 3, 4, 4)
    assert isinstance(wrapped, TensorMode) and torch.equal(wrapped(x), model(x, mode='tensor'))
    assert isinstance(ClassifierLogits(model), TensorMode)


def test_wrapper_keeps_the_models_mode():
    """Wrapping does not change the model's mode, and restoring the wrapper's mode (as counting and tracing
    do after running it in eval mode) gives the model back in the mode it had."""
    for training in (False, True):
        model = _Model().train(training)
        wrapped = tensor_mode(model)
        assert wrapped.training == model.training == training
        was_training = wrapped.training
        wrapped.eval()
        wrapped.train(was_training)
        assert model.training == training
