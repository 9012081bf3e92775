"""Shared fixtures: the repository's paths, a small shapes dataset, and tiny batches per task."""
import hashlib
import os
import os.path as osp
import re
import sys

# Busy-waiting OpenMP threads make small CPU ops many times slower when other processes share the cores.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')


@pytest.fixture(scope='session')
def repo_root():
    return ROOT


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory):
    """A small shapes dataset in all three layouts, written once per session."""
    from lwmm.datasets.shapes import make_shapes
    root = str(tmp_path_factory.mktemp('shapes'))
    make_shapes(root, scale=0.1, seed=0)
    return root


@pytest.fixture(autouse=True, scope='session')
def _few_threads():
    import torch
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def _default_scopes():
    """mmengine's DefaultScope instances (the last one is the current scope), or None before mmengine is imported:
    looked up in sys.modules, not imported."""
    module = sys.modules.get('mmengine.registry.default_scope')
    return None if module is None else module.DefaultScope._instance_dict


def _scopes_restored():
    saved = dict(_default_scopes() or {})
    yield
    current = _default_scopes()
    if current is not None:
        current.clear()
        current.update(saved)


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """Each test ends with mmengine's default scope as it began: a Runner, ``init_default_scope`` or
    ``DefaultScope.get_instance`` makes its scope the process's current one, which would otherwise decide how
    unscoped types build in later tests."""
    yield from _scopes_restored()


@pytest.fixture(autouse=True, scope='module')
def _restore_default_scope_per_module():
    """The same at module boundaries, for module-scoped fixtures: they are set up before a test's own snapshot
    (test_checkpoint_safety.py's toy Runners left 'mmengine' current for every later module)."""
    yield from _scopes_restored()


#: ``timm://<model>[.<tag>]`` as configs name it
TIMM_URI = re.compile(r"timm://([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)")


def config_timm_tags():
    """Every ``timm://`` name that a file under configs/ mentions."""
    tags = set()
    for dirpath, _, files in os.walk(CONFIGS):
        for name in files:
            if name.endswith('.py'):
                with open(osp.join(dirpath, name)) as f:
                    tags.update(TIMM_URI.findall(f.read()))
    return sorted(tags)


class OfflineTimmHub:
    """A Hugging Face cache, laid out as ``hf_hub_download`` leaves it, holding randomly initialised timm weights.

    ``add(name)`` writes ``models--timm--<name>/blobs/<sha256>`` with the ``model.safetensors`` of a seeded
    random timm model (BatchNorm statistics and affine parameters drawn too, so that a wrong or skipped
    norm layer shows), ``snapshots/<revision>/model.safetensors`` linking to the blob and ``refs/main``
    naming the revision. ``name`` is what a config writes after ``timm://``; timm's pretrained config
    gives the repository (``timm/<arch>.<tag>``) and the file, so a bare architecture gets its default tag.
    """

    def __init__(self, home: str):
        self.home = home
        self.cache = osp.join(home, 'hub')
        self._files = {}

    @property
    def names(self):
        return sorted(self._files)

    def add(self, name: str) -> str:
        """Write the weights of ``name`` (once per repository) and return the path of its snapshot file."""
        if name in self._files:
            return self._files[name]
        import timm
        import torch
        import torch.nn as nn
        from safetensors.torch import save_file
        cfg = timm.models.get_pretrained_cfg(name)
        if cfg is None or not cfg.hf_hub_id:
            raise ValueError(f'offline_timm_hub: timm has no Hugging Face weights for {name!r}.')
        repo_id, filename = cfg.hf_hub_id, cfg.hf_hub_filename or 'model.safetensors'
        repo = osp.join(self.cache, 'models--' + repo_id.replace('/', '--'))
        revision = hashlib.sha1(repo_id.encode()).hexdigest()
        snapshot = osp.join(repo, 'snapshots', revision, filename)
        if osp.exists(snapshot):  # the same repository under another name (a bare architecture, its default tag)
            self._files[name] = snapshot
            return snapshot
        torch.manual_seed(int(revision[:8], 16))
        model = timm.create_model(timm.models.split_model_name_tag(name)[0], pretrained=False)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.2, 0.2)
                    m.running_var.uniform_(0.5, 2.0)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.2, 0.2)
        for folder in ('blobs', 'refs', osp.join('snapshots', revision)):
            os.makedirs(osp.join(repo, folder), exist_ok=True)
        staging = osp.join(repo, 'blobs', 'incoming')
        save_file({k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}, staging)
        with open(staging, 'rb') as f:
            blob = osp.join(repo, 'blobs', hashlib.sha256(f.read()).hexdigest())
        os.replace(staging, blob)
        with open(osp.join(repo, 'refs', 'main'), 'w') as f:
            f.write(revision)
        os.symlink(osp.relpath(blob, osp.dirname(snapshot)), snapshot)
        self._files[name] = snapshot
        return snapshot

    def state_dict(self, name: str):
        """The timm state dict stored for ``name`` (written first if needed)."""
        from safetensors.torch import load_file
        return load_file(self.add(name))

    def timm_model(self, name: str):
        """timm's model of ``name`` with the stored weights, in eval mode."""
        import timm
        model = timm.create_model(timm.models.split_model_name_tag(name)[0], pretrained=False)
        model.load_state_dict(self.state_dict(name), strict=True)
        return model.eval()


@pytest.fixture(scope='session')
def offline_timm_hub(tmp_path_factory):
    """An offline Hugging Face cache with every ``timm://`` weight that configs/ names; ``add`` writes more.

    For the rest of the session ``HF_HOME`` points at it and ``HF_HUB_OFFLINE=1`` (``HF_HUB_CACHE`` unset),
    in the environment and in ``huggingface_hub.constants``, which reads them once at import; both are
    restored at the end of the session.
    """
    hub = OfflineTimmHub(str(tmp_path_factory.mktemp('hf_home')))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('HF_HOME', hub.home)
        patch.setenv('HF_HUB_OFFLINE', '1')
        for variable in ('HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE'):
            patch.delenv(variable, raising=False)
        try:
            from huggingface_hub import constants
        except ImportError:
            constants = None
        if constants is not None:
            patch.setattr(constants, 'HF_HOME', hub.home)
            patch.setattr(constants, 'HF_HUB_CACHE', hub.cache)
            patch.setattr(constants, 'HF_HUB_OFFLINE', True)
        for name in config_timm_tags():
            hub.add(name)
        yield hub


@pytest.fixture
def fix_attention():
    """``fix(attention, weights)``: every call of that ``KernelAttention`` returns ``weights`` (K,) for each
    sample, by a forward hook that replaces its output (a known attention, as an analysis would need);
    the hooks are removed when the test ends."""
    handles = []

    def fix(attention, weights):
        handles.append(attention.register_forward_hook(lambda module, args, out: weights.to(out).expand_as(out)))

    yield fix
    for handle in handles:
        handle.remove()


@pytest.fixture(scope='session')
def spread_dynamic_kernels():
    """``spread(model, seed=0)``: every ``DynamicConv2d`` of ``model`` with its K kernels drawn apart
    (``draw_kernels_apart``, its own generator: the global RNG and a test's later inputs are unchanged).

    A built dynamic conv starts its K kernels as copies of one, so it computes a static conv at any attention:
    a test that compares two computations of a freshly built layer or DY network (export, folding, batched
    against per sample, ...) could not see the attention or its per-sample mixing go wrong."""
    import torch
    from lwmm.models.layers.dynamic_conv import draw_kernels_apart

    def spread(model, seed=0):
        return draw_kernels_apart(model, torch.Generator().manual_seed(seed))

    return spread
