"""Training pieces: the papers' (DynamicConv temperature schedule, multi-scale sampler) and reliability
(non-finite loss checks, generator state in checkpoints, weights-only checkpoint loading, CPU mixed
precision, CPU SyncBN for gloo)."""
from . import amp, checkpoint_safety, multiscale_sampler, non_finite, rng_state, sync_bn, temperature  # noqa: F401
