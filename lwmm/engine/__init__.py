"""Training pieces: the papers' (DynamicConv temperature schedule, multi-scale sampler) and reliability
(non-finite loss checks, generator state in checkpoints, weights-only checkpoint loading, CPU mixed
precision, CPU SyncBN for gloo) and speed (channels_last)."""
from . import (amp, channels_last, checkpoint_safety, multiscale_sampler, non_finite, rng_state, sync_bn,  # noqa: F401
               temperature)
