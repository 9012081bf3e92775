"""Training pieces the papers need: the DynamicConv temperature schedule, the multi-scale sampler."""
from . import amp, multiscale_sampler, temperature  # noqa: F401
