"""``import lwmm`` imports no OpenMMLab codebase, works with one absent or broken, and exports its classes."""
import inspect
import json
import runpy
import subprocess
import sys
import textwrap

import pytest
import setuptools
from packaging.requirements import Requirement

import lwmm
import lwmm.models

CODEBASES = ('mmdet', 'mmseg', 'mmpretrain')

# Installed in a fresh interpreter before anything else: importing any of BLOCKED raises ERROR, as a
# missing package does (ModuleNotFoundError) or as mmdet 3.3 does against an mmcv it does not accept.
BLOCK = textwrap.dedent('''
    import sys

    BLOCKED, ERROR = {blocked!r}, {error}

    class Block:
        def find_spec(self, fullname, path=None, target=None):
            if fullname.split('.')[0] in BLOCKED:
                if ERROR is ModuleNotFoundError:
                    raise ModuleNotFoundError(f'No module named {{fullname!r}}', name=fullname)
                raise ERROR('MMCV==2.2.0 is used but incompatible. Please install mmcv>=2.0.0rc4, <2.2.0.')
            return None

    sys.meta_path.insert(0, Block())
''')

ABSENT = 'ModuleNotFoundError'
BROKEN = 'AssertionError'


def run(code: str, blocked=(), error=ABSENT) -> str:
    """Run ``code`` in a fresh interpreter with ``blocked`` packages failing to import; return stdout."""
    script = BLOCK.format(blocked=tuple(blocked), error=error) + textwrap.dedent(code)
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_import_lwmm_imports_no_codebase():
    """Neither ``import lwmm`` nor ``from lwmm.models import *`` imports mmdet, mmseg or mmpretrain."""
    out = run('''
        import sys
        from lwmm.models import *
        print(GhostNetV2.__name__, sorted(name for name in ('mmdet', 'mmseg', 'mmpretrain') if name in sys.modules))
    ''')
    assert out.split('\n')[-2] == 'GhostNetV2 []'


def test_import_lwmm_changes_nothing_global():
    """No attribute of an already imported torch / numpy / OpenMMLab module or class is replaced (as the
    old SSDHead.__init__ wrapper did) and no process setting changes: environment, warnings filters,
    torch flags, default scope, import hooks. Tables may only grow: lwmm adds its registries to mmengine's
    and the ``timm://`` prefix to mmengine's checkpoint schemes, and keeps every existing entry.
    (torch's weights-only allow-list: tests/test_compat.py.)"""
    out = run('''
        import os, sys, warnings
        import numpy, torch, mmengine, mmcv.cnn, mmdet.models, mmseg.models, mmpretrain.models
        from mmengine.registry import DefaultScope

        FOREIGN = ('torch', 'numpy', 'mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain')

        def identity(value):
            """A table by its entries (new keys allowed), anything else by its object."""
            return {key: id(entry) for key, entry in value.items()} if isinstance(value, dict) else id(value)

        def attributes():
            seen = {}
            for name, module in list(sys.modules.items()):
                if module is None or name.split('.')[0] not in FOREIGN:
                    continue
                for attr, value in list(vars(module).items()):
                    seen[f'{name}.{attr}'] = identity(value)
                    if isinstance(value, type) and value.__module__ == name:
                        for key, member in list(vars(value).items()):
                            seen[f'{name}.{attr}.{key}'] = identity(member)
            return seen

        def kept(old, new):
            return old.items() <= new.items() if isinstance(old, dict) and isinstance(new, dict) else old == new

        def settings():
            return dict(
                environ=dict(os.environ), warnings=list(warnings.filters), meta_path=list(sys.meta_path),
                threads=torch.get_num_threads(), dtype=torch.get_default_dtype(), grad=torch.is_grad_enabled(),
                deterministic=torch.are_deterministic_algorithms_enabled(),
                matmul_precision=torch.get_float32_matmul_precision(),
                cudnn=(torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
                       torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32),
                default_scope=DefaultScope.get_current_instance())

        before, before_settings = attributes(), settings()
        import lwmm
        after, after_settings = attributes(), settings()
        print(sorted(key for key in before if not kept(before[key], after.get(key))))
        print(sorted(key for key in before_settings if after_settings[key] != before_settings[key]))
    ''')
    replaced, settings = out.strip().split('\n')[-2:]
    assert replaced == '[]', replaced
    assert settings == '[]', settings


WITHOUT_CODEBASES = '''
    import json, torch
    import lwmm
    from lwmm.models import StagedBackbone
    from lwmm.registry import MODELS
    report = dict(built=[], errors={})
    for name, cls in sorted(MODELS.module_dict.items()):
        if isinstance(cls, type) and issubclass(cls, StagedBackbone):
            MODELS.build(dict(type=name))
            report['built'].append(name)
    out = MODELS.build(dict(type='GhostNetV2', widen_factor=0.5, out_indices=(4, ))).eval()(torch.randn(1, 3, 64, 64))
    report['shape'] = list(out[0].shape)
    for key, ask in (('SSDHead config', "MODELS.build(dict(type='lwmm.SSDHead', num_classes=3))"),
                     ('SSDHead import', 'from lwmm.models import SSDHead'),
                     ('DropoutLinearClsHead config', "MODELS.build(dict(type='lwmm.DropoutLinearClsHead'))")):
        try:
            exec(ask)
        except ImportError as error:
            report['errors'][key] = f'{type(error).__name__}: {error}'
    print(json.dumps(report))
'''


@pytest.fixture(scope='module', params=[ABSENT, BROKEN])
def without_codebases(request):
    """What lwmm does in an interpreter where mmdet, mmseg and mmpretrain are missing (ModuleNotFoundError)
    or broken (AssertionError on import, as mmdet 3.3 against an mmcv it does not accept)."""
    return request.param, json.loads(run(WITHOUT_CODEBASES, blocked=CODEBASES, error=request.param).split('\n')[-2])


def test_lwmm_without_any_codebase_builds_every_backbone(without_codebases):
    """The core (backbones, layers, registries) needs none of mmdet, mmseg, mmpretrain."""
    _, report = without_codebases
    backbones = sorted(name for name, cls in lwmm.registry.MODELS.module_dict.items()
                       if isinstance(cls, type) and issubclass(cls, lwmm.models.StagedBackbone))
    assert report['built'] == backbones and len(backbones) >= 8
    assert report['shape'] == [1, 480, 2, 2]


def test_naming_an_lwmm_head_without_its_codebase_says_what_to_install(without_codebases):
    error, report = without_codebases
    state = {ABSENT: 'which is not installed',
             BROKEN: 'which failed to import (AssertionError: MMCV==2.2.0 is used but incompatible'}[error]
    assert set(report['errors']) == {'SSDHead config', 'SSDHead import', 'DropoutLinearClsHead config'}
    for key in ('SSDHead config', 'SSDHead import'):
        assert report['errors'][key].startswith(f'ImportError: lwmm.SSDHead extends a class of mmdet, {state}')
        assert "pip install 'lwmm[det]'" in report['errors'][key]
    message = report['errors']['DropoutLinearClsHead config']
    assert f'lwmm.DropoutLinearClsHead extends a class of mmpretrain, {state}' in message
    assert "pip install 'lwmm[cls]'" in message


def test_mmpretrain_and_mmseg_parts_work_without_mmdet():
    """With mmdet absent. (A broken mmdet breaks mmpretrain and mmseg themselves: mmpretrain 1.2.0's
    models.utils and mmseg 1.2.2's MaskFormer heads import mmdet and catch only ImportError.)"""
    out = run('''
        import sys, torch
        import lwmm
        from mmpretrain.registry import MODELS as CLS_MODELS
        from mmseg.registry import MODELS as SEG_MODELS
        classifier = CLS_MODELS.build(dict(
            type='ImageClassifier',
            backbone=dict(type='lwmm.GhostNet', widen_factor=0.5, out_indices=(4, )),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='lwmm.DropoutLinearClsHead', dropout_rate=0.1, num_classes=3, in_channels=480,
                      loss=dict(type='CrossEntropyLoss')))).eval()
        segmentor = SEG_MODELS.build(dict(
            type='EncoderDecoder',
            backbone=dict(type='lwmm.GhostNetV2', widen_factor=0.5, out_indices=(4, )),
            decode_head=dict(type='FCNHead', in_channels=480, channels=16, num_convs=1, num_classes=3,
                             norm_cfg=dict(type='BN')))).eval()
        print(tuple(classifier(torch.randn(2, 3, 64, 64), mode='tensor').shape),
              tuple(segmentor(torch.randn(1, 3, 64, 64), mode='tensor').shape), 'mmdet' in sys.modules)
    ''', blocked=('mmdet', ))
    assert out.split('\n')[-2] == '(2, 3) (1, 3, 2, 2) False'


# -- public names -------------------------------------------------------------------------------------------
@pytest.mark.parametrize('name', lwmm.models.__all__)
def test_public_name_imports(name):
    namespace = {}
    exec(f'from lwmm.models import {name}', namespace)
    defined_in = inspect.getmodule(namespace[name]).__name__
    assert defined_in.startswith('lwmm.models.'), defined_in


def test_every_registered_model_is_public():
    """A backbone or layer registered in lwmm's MODELS is importable from lwmm.models."""
    registered = set(lwmm.registry.MODELS.module_dict) - set(lwmm.registry.MODELS.deferred)
    assert registered and registered <= set(lwmm.models.__all__), sorted(registered - set(lwmm.models.__all__))


def test_deferred_heads_import_from_lwmm_models():
    from lwmm.models import DropoutLinearClsHead, SSDHead
    assert lwmm.registry.MODELS.get('SSDHead') is SSDHead
    assert lwmm.registry.MODELS.get('DropoutLinearClsHead') is DropoutLinearClsHead
    with pytest.raises(AttributeError, match='NoSuchHead'):
        lwmm.models.NoSuchHead


# -- setup.py -----------------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def setup_kwargs(repo_root):
    captured = {}
    setup = setuptools.setup
    setuptools.setup = captured.update
    try:
        runpy.run_path(f'{repo_root}/setup.py')
    finally:
        setuptools.setup = setup
    return captured


def test_setup_core_needs_no_codebase_and_each_task_is_an_extra(setup_kwargs):
    core = {Requirement(r).name for r in setup_kwargs['install_requires']}
    assert not core & {'mmdet', 'mmsegmentation', 'mmpretrain'}
    extras = {extra: {Requirement(r).name for r in reqs} for extra, reqs in setup_kwargs['extras_require'].items()}
    assert 'mmdet' in extras['det'] and 'mmsegmentation' in extras['seg'] and 'mmpretrain' in extras['cls']
    assert extras['det'] | extras['seg'] | extras['cls'] <= extras['all']


def _pinned_versions(repo_root):
    """``{name: version}`` that tools/setup_env.sh and requirements.txt install (the tested stack)."""
    import re
    pins = {}
    script = open(f'{repo_root}/tools/setup_env.sh').read()
    for name, variable in (('torch', 'TORCH_VERSION'), ('torchvision', 'TORCHVISION_VERSION'),
                           ('mmcv', 'MMCV_VERSION')):
        pins[name] = re.search(rf'^{variable}=(\S+)$', script, re.M).group(1)
    pins['mmengine'] = re.search(r'"mmengine==([^"]+)"', script).group(1)
    for line in open(f'{repo_root}/requirements.txt'):
        match = re.match(r'^([A-Za-z0-9_.-]+)==(\S+)$', line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_setup_accepts_the_tested_stack(setup_kwargs, repo_root):
    pins = _pinned_versions(repo_root)
    assert {'torch', 'mmcv', 'mmengine', 'mmdet', 'mmsegmentation', 'mmpretrain'} <= set(pins)
    requirements = setup_kwargs['install_requires'] + sum(setup_kwargs['extras_require'].values(), [])
    for requirement in map(Requirement, requirements):
        if requirement.name in pins:
            assert requirement.specifier.contains(pins[requirement.name]), (requirement, pins[requirement.name])

