"""lwmm.compat: importing lwmm widens nothing. The checkpoint fix lives in lwmm's load paths
(tests/engine/test_checkpoint_safety.py), never in torch's process-wide weights-only allow-list."""
import subprocess
import sys
import textwrap

IMPORT_AND_COMPARE = textwrap.dedent('''
    import torch
    from torch.serialization import get_safe_globals

    class Own:  # a user's own entry, added before lwmm is imported
        pass

    torch.serialization.add_safe_globals([Own])
    # torch's DTensor module allow-lists its own classes when first imported (mmengine imports it): import
    # lwmm's dependencies first, so that what changes below is lwmm's doing
    import torch.distributed.tensor, mmengine.runner, mmcv.cnn  # noqa: F401,E401
    before = set(get_safe_globals())
    from mmengine.utils import import_modules_from_strings
    import_modules_from_strings(['lwmm'])  # what custom_imports=dict(imports=['lwmm']) does
    import lwmm.engine, lwmm.models, lwmm.analysis.inference, lwmm.engine.checkpoint_safety  # noqa: F401
    from lwmm.engine.launch import build_runner  # noqa: F401
    added = set(get_safe_globals()) - before
    print('added:', sorted(map(repr, added)))
    print('kept:', before <= set(get_safe_globals()))
''')


def test_import_leaves_torchs_allow_list_unchanged():
    result = subprocess.run([sys.executable, '-c', IMPORT_AND_COMPARE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'added: []' in result.stdout and 'kept: True' in result.stdout, result.stdout
