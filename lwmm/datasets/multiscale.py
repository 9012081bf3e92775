"""The data side of multi-scale training (``lwmm.MultiScaleBatchSampler``): a dataset wrapper that takes
``(index, height, width)`` and a transform wrapper that makes its image at that resolution.

The resolution travels with each index through the batch sampler, so every dataloader worker knows the
resolution of the item it loads without any shared state.
"""
import copy
from typing import Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from lwmm.registry import DATASETS, TRANSFORMS

#: key of the results dict that carries a batch's ``(height, width)``
BATCH_SHAPE_KEY = 'batch_shape'


@DATASETS.register_module()
class MultiScaleDataset:
    """Wrap an mmengine dataset so that ``dataset[(index, h, w)]`` runs its pipeline at ``(h, w)``.

    The wrapped dataset's data info gets ``results['batch_shape'] = (h, w)``; a
    ``lwmm.BatchShapeTransform`` in its pipeline applies it. A plain int index behaves as the wrapped
    dataset does. Items whose pipeline returns None (broken images) are replaced by random others at
    the same resolution, as mmengine's ``BaseDataset`` does.

    Args:
        dataset (dict | BaseDataset): The dataset, or its config (built in the current default scope).
    """

    def __init__(self, dataset):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if not hasattr(self.dataset, 'get_data_info') or not hasattr(self.dataset, 'pipeline'):
            raise ValueError('MultiScaleDataset: dataset must be an mmengine BaseDataset (with get_data_info '
                             f'and pipeline), got {type(self.dataset).__name__}.')

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self.dataset.metainfo)

    def full_init(self) -> None:
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def get_data_info(self, index: int) -> dict:
        return self.dataset.get_data_info(index)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        if not isinstance(key, (tuple, list)):
            return self.dataset[key]
        index, height, width = key
        for _ in range(getattr(self.dataset, 'max_refetch', 1000) + 1):
            info = self.dataset.get_data_info(index)
            info[BATCH_SHAPE_KEY] = (height, width)
            data = self.dataset.pipeline(info)
            if data is not None:
                return data
            index = np.random.randint(0, len(self.dataset))
        raise RuntimeError(f'MultiScaleDataset: no valid item found after {self.dataset.max_refetch} '
                           'refetches; check the pipeline and the data.')


@TRANSFORMS.register_module()
class BatchShapeTransform(BaseTransform):
    """Run ``transform`` with its output size set to the batch's resolution, when the item has one.

    Example: ``dict(type='lwmm.BatchShapeTransform', transform=dict(type='RandomResizedCrop',
    scale=256))`` crops at ``results['batch_shape']`` during multi-scale training and at 256 otherwise.

    Args:
        transform (dict | callable): The resolution-dependent transform.
        size_attr (str): Its attribute that holds the output size (``scale`` for mmpretrain's
            ``RandomResizedCrop``, ``ResizeEdge``'s ``scale``, mmcv's ``Resize``...).
        size_order (str): ``'hw'`` if that attribute is ``(height, width)`` (mmpretrain's
            ``RandomResizedCrop``), ``'wh'`` if ``(width, height)`` (mmcv's ``Resize``).
    """

    def __init__(self, transform: Union[dict, object], size_attr: str = 'scale', size_order: str = 'hw'):
        self.wrapped = TRANSFORMS.build(transform) if isinstance(transform, dict) else transform
        if not hasattr(self.wrapped, size_attr):
            raise ValueError(f'BatchShapeTransform: {type(self.wrapped).__name__} has no attribute '
                             f'size_attr={size_attr!r}.')
        if size_order not in ('hw', 'wh'):
            raise ValueError(f"BatchShapeTransform: size_order={size_order!r}; choose 'hw' or 'wh'.")
        self.size_attr = size_attr
        self.size_order = size_order

    def transform(self, results: dict) -> dict:
        shape: Sequence[int] = results.get(BATCH_SHAPE_KEY)
        if shape is None:
            return self.wrapped(results)
        size = tuple(shape) if self.size_order == 'hw' else tuple(shape[::-1])
        default = getattr(self.wrapped, self.size_attr)
        setattr(self.wrapped, self.size_attr, size)
        try:
            return self.wrapped(results)
        finally:
            setattr(self.wrapped, self.size_attr, default)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(transform={self.wrapped!r}, size_attr={self.size_attr!r})'
