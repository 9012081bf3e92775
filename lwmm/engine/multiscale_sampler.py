"""The multi-scale batch sampler of MobileViT (Mehta & Rastegari, ICLR 2022, Sec. 3.3; ml-cvnets'
``VariableBatchSampler``): every batch has one resolution drawn from a set, and its batch size scales
inversely with the pixel count so that each batch costs about the same memory.
"""
import random
from typing import Iterator, List, Optional, Sequence, Tuple, Union

from mmengine.dist import sync_random_seed
from torch.utils.data import Sampler

from lwmm.registry import DATA_SAMPLERS

Shape = Tuple[int, int]


def _as_shape(value, name: str) -> Shape:
    if isinstance(value, int) and value > 0:
        return (value, value)
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, int) and v > 0 for v in value)):
        return (value[0], value[1])
    raise ValueError(f'MultiScaleBatchSampler: {name}={value!r} must be a positive int or an (h, w) pair '
                     'of positive ints.')


@DATA_SAMPLERS.register_module()
class MultiScaleBatchSampler(Sampler):
    """Group the indices of ``sampler`` into batches of one random resolution each.

    Yields lists of ``(index, height, width)``: wrap the dataset in ``lwmm.MultiScaleDataset`` and put the
    resolution-dependent transform inside ``lwmm.BatchShapeTransform`` so that every image of a batch is
    made at the batch's resolution (in whichever dataloader worker it is loaded). For a base
    resolution ``(H0, W0)`` and base batch size ``b``, a batch at ``(h, w)`` holds
    ``max(1, int(round(b * H0 * W0 / (h * w), 2)))`` images (ml-cvnets' rule: 327 / 227 / 128 / 101 / 81
    at 160 / 192 / 256 / 288 / 320 px for ``b = 128``, base 256).

    Distributed training: ``sampler`` (mmengine's ``DefaultSampler``, or torch's ``DistributedSampler``)
    gives each rank its own shard, equally long on every rank. The resolution sequence is drawn from a
    generator seeded with ``seed + epoch`` (the seed shared by all ranks, the epoch that the training loop
    sets on ``sampler``), so every rank sees the same resolutions in the same order and the same number
    of batches, and an epoch is reproducible. Every index of the shard is used exactly once per epoch; the
    last batch is smaller unless ``drop_last``.

    The number of batches depends on the draws and so varies a little from epoch to epoch;
    ``len()`` is exact for the current epoch. mmengine converts epoch-based schedules to iterations with
    the length seen when they are built.

    Config (mmengine's ``Runner.build_dataloader`` passes ``sampler`` and ``batch_size``)::

        train_dataloader = dict(
            batch_size=128,
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='lwmm.MultiScaleBatchSampler', base_size=256,
                               scales=(160, 192, 256, 288, 320)),
            dataset=dict(type='lwmm.MultiScaleDataset', dataset=dict(type='ImageNet', ...)))

    Args:
        sampler (Sampler): Index sampler (shuffling and sharding).
        batch_size (int): Batch size at ``base_size``.
        base_size (int | tuple[int, int]): Base resolution, an int or ``(h, w)``.
        scales (Sequence[int | tuple[int, int]]): Resolutions to draw from, uniformly.
        drop_last (bool): Drop the last, incomplete batch of an epoch.
        seed (int, optional): Seed of the resolution draws; by default the seed of ``sampler`` (mmengine
            gives ``DefaultSampler`` the run's seed), else a seed synchronised across ranks.
    """

    def __init__(self,
                 sampler: Sampler,
                 batch_size: int,
                 base_size: Union[int, Shape] = 256,
                 scales: Sequence[Union[int, Shape]] = (160, 192, 256, 288, 320),
                 drop_last: bool = False,
                 seed: Optional[int] = None):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'MultiScaleBatchSampler: batch_size={batch_size!r} must be a positive int.')
        if not isinstance(scales, (tuple, list)) or not scales:
            raise ValueError(f'MultiScaleBatchSampler: scales={scales!r} must be a non-empty sequence.')
        self.sampler = sampler
        self.batch_size = batch_size
        self.base_size = _as_shape(base_size, 'base_size')
        self.drop_last = drop_last
        base_area = self.base_size[0] * self.base_size[1]
        self.shapes: List[Shape] = [_as_shape(scale, 'scales') for scale in scales]
        self.batch_sizes: List[int] = [
            max(1, int(round(batch_size * base_area / (h * w), 2))) for h, w in self.shapes
        ]
        if seed is None:
            seed = getattr(sampler, 'seed', None)
        self.seed = sync_random_seed() if seed is None else seed
        self._epoch = 0

    @property
    def epoch(self) -> int:
        return getattr(self.sampler, 'epoch', self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch here and on ``sampler`` (mmengine's loops call ``sampler.set_epoch`` directly)."""
        self._epoch = epoch
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def _draws(self) -> Iterator[int]:
        """Indices into ``shapes``, one per batch, from the epoch's generator."""
        generator = random.Random(self.seed + self.epoch)
        while True:
            yield generator.randrange(len(self.shapes))

    def __iter__(self) -> Iterator[List[Tuple[int, int, int]]]:
        draws = self._draws()
        choice = next(draws)
        batch = []
        for index in self.sampler:
            height, width = self.shapes[choice]
            batch.append((index, height, width))
            if len(batch) == self.batch_sizes[choice]:
                yield batch
                batch = []
                choice = next(draws)
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        remaining, count = len(self.sampler), 0
        for choice in self._draws():
            size = self.batch_sizes[choice]
            if remaining < size:
                return count + (1 if remaining and not self.drop_last else 0)
            remaining -= size
            count += 1
        return count  # unreachable: the draws never end
