import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset, DefaultSampler, pseudo_collate
from mmengine.runner import Runner
from torch.utils.data import DataLoader, DistributedSampler, SequentialSampler

from lwmm.datasets.multiscale import BatchShapeTransform, MultiScaleDataset
from lwmm.engine.multiscale_sampler import MultiScaleBatchSampler

SCALES = (160, 192, 256, 288, 320)


def _batches(sampler):
    return [list(batch) for batch in sampler]


def test_batch_size_rule_matches_paper():
    sampler = MultiScaleBatchSampler(SequentialSampler(range(10)), batch_size=128, seed=0)
    # the paper's per-GPU batch sizes for base batch 128 at 256 px (DESIGN.md)
    assert sampler.batch_sizes == [327, 227, 128, 101, 81]
    assert sampler.shapes == [(s, s) for s in SCALES]
    custom = MultiScaleBatchSampler(range(10), batch_size=8, base_size=(128, 64),
                                    scales=[(64, 64), (128, 128)], seed=0)
    assert custom.batch_sizes == [16, 4]


def test_every_sample_once_and_shapes_follow_rule():
    sampler = MultiScaleBatchSampler(SequentialSampler(range(1000)), batch_size=16, seed=3)
    batches = _batches(sampler)
    assert len(batches) == len(sampler)
    indices = [i for batch in batches for i, _, _ in batch]
    assert sorted(indices) == list(range(1000))
    sizes = dict(zip(sampler.shapes, sampler.batch_sizes))
    seen = set()
    for batch in batches[:-1]:
        shapes = {(h, w) for _, h, w in batch}
        assert len(shapes) == 1
        shape = shapes.pop()
        seen.add(shape)
        assert len(batch) == sizes[shape]
    assert len(batches[-1]) <= sizes[(batches[-1][0][1], batches[-1][0][2])]
    assert seen == set(sampler.shapes)  # all scales are drawn over ~100 batches
    dropped = MultiScaleBatchSampler(SequentialSampler(range(1000)), batch_size=16, seed=3, drop_last=True)
    assert len(dropped) == len(_batches(dropped)) == len(batches) - (len(batches[-1]) < sizes[
        (batches[-1][0][1], batches[-1][0][2])])


def test_deterministic_and_epoch_seeded():
    base = DistributedSampler(range(500), num_replicas=1, rank=0, shuffle=True, seed=7)
    sampler = MultiScaleBatchSampler(base, batch_size=16)
    assert sampler.seed == 7  # taken from the index sampler
    first, again = _batches(sampler), _batches(sampler)
    assert first == again
    sampler.set_epoch(1)
    assert base.epoch == 1
    second = _batches(sampler)
    assert [b[0][1:] for b in first] != [b[0][1:] for b in second]
    assert sorted(i for b in second for i, _, _ in b) == list(range(500))
    base.set_epoch(0)  # as mmengine's loops do: on the index sampler only
    assert _batches(sampler) == first


@pytest.mark.parametrize('epoch', [0, 5])
def test_distributed_split(epoch):
    """Two simulated ranks: disjoint shards covering the data, same resolutions, same batch count."""
    ranks = []
    for rank in range(2):
        base = DistributedSampler(range(402), num_replicas=2, rank=rank, shuffle=True, seed=11)
        sampler = MultiScaleBatchSampler(base, batch_size=12)
        sampler.set_epoch(epoch)
        ranks.append((sampler, _batches(sampler)))
    (s0, b0), (s1, b1) = ranks
    assert len(b0) == len(b1) == len(s0) == len(s1)
    assert [[(h, w) for _, h, w in b] for b in b0] == [[(h, w) for _, h, w in b] for b in b1]
    i0 = {i for b in b0 for i, _, _ in b}
    i1 = {i for b in b1 for i, _, _ in b}
    assert not i0 & i1 and i0 | i1 == set(range(402))


def test_mmengine_default_sampler_seed_and_epoch():
    base = DefaultSampler(list(range(50)), shuffle=True, seed=5)
    sampler = MultiScaleBatchSampler(base, batch_size=4, scales=(32, 64), base_size=64)
    assert sampler.seed == 5
    first = _batches(sampler)
    base.set_epoch(3)
    assert _batches(sampler) != first


def test_invalid_arguments():
    with pytest.raises(ValueError, match='batch_size'):
        MultiScaleBatchSampler(range(4), batch_size=0)
    with pytest.raises(ValueError, match='scales'):
        MultiScaleBatchSampler(range(4), batch_size=2, scales=())
    with pytest.raises(ValueError, match='scales'):
        MultiScaleBatchSampler(range(4), batch_size=2, scales=(32, -1))
    with pytest.raises(ValueError, match='base_size'):
        MultiScaleBatchSampler(range(4), batch_size=2, base_size=(32, 32, 3))


class _ToyImages(BaseDataset):
    """Random images of varied sizes, in memory."""

    def load_data_list(self):
        rng = np.random.RandomState(0)
        return [dict(img=rng.randint(0, 255, (40 + i % 7, 50 + i % 5, 3), dtype=np.uint8), gt_label=i % 3)
                for i in range(30)]


PIPELINE = [
    dict(type='lwmm.BatchShapeTransform', transform=dict(type='mmpretrain.RandomResizedCrop', scale=32)),
    dict(type='mmpretrain.PackInputs'),
]


def test_batch_shape_transform_defaults_without_shape():
    transform = BatchShapeTransform(dict(type='mmpretrain.RandomResizedCrop', scale=(24, 40)))
    img = np.zeros((50, 60, 3), np.uint8)
    assert transform(dict(img=img))['img'].shape == (24, 40, 3)
    assert transform(dict(img=img, batch_shape=(16, 8)))['img'].shape == (16, 8, 3)
    assert transform(dict(img=img))['img'].shape == (24, 40, 3)
    with pytest.raises(ValueError, match='size_attr'):
        BatchShapeTransform(dict(type='mmpretrain.RandomResizedCrop', scale=8), size_attr='size')


def test_dataloader_with_workers_gives_batch_shapes():
    dataset = MultiScaleDataset(_ToyImages(pipeline=PIPELINE))
    assert len(dataset) == 30 and dataset[0]['inputs'].shape == (3, 32, 32)
    sampler = MultiScaleBatchSampler(DefaultSampler(dataset, shuffle=True, seed=0), batch_size=4,
                                     base_size=32, scales=(16, 32, (48, 24)))
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=2, collate_fn=pseudo_collate)
    seen = []
    for data, batch in zip(loader, sampler):
        height, width = batch[0][1:]
        assert len(data['inputs']) == len(batch)
        assert all(img.shape == (3, height, width) for img in data['inputs'])
        seen.extend(s.gt_label.item() for s in data['data_samples'])
    assert len(seen) == 30


def test_runner_builds_the_dataloader():
    """The config route: mmengine's Runner.build_dataloader passes sampler and batch_size."""
    from mmengine.registry import DATASETS
    DATASETS.register_module(name='_LwmmToyImages', module=_ToyImages, force=True)
    loader = Runner.build_dataloader(dict(
        batch_size=4,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_sampler=dict(type='lwmm.MultiScaleBatchSampler', base_size=32, scales=(16, 32)),
        dataset=dict(type='lwmm.MultiScaleDataset', dataset=dict(type='_LwmmToyImages', pipeline=PIPELINE))),
        seed=0)
    assert isinstance(loader.batch_sampler, MultiScaleBatchSampler)
    assert loader.batch_sampler.sampler.seed == 0
    shapes = {tuple(inputs.shape[-2:]) for data in loader for inputs in [torch.stack(data['inputs'])]}
    assert shapes == {(16, 16), (32, 32)}
