"""Checkpoints that torch's weights-only loader reads, without widening what it accepts.

torch >= 2.6 loads with ``weights_only=True``: its unpickler builds only tensors and plain containers
and calls only the callables on an allow-list. A checkpoint mmengine 0.10.7 writes holds more: the
message hub's ``HistoryBuffer`` objects (NumPy arrays, and a table of statistics methods pickled as
``getattr(HistoryBuffer, 'mean')``) and NumPy scalars. Allow-listing ``getattr`` or ``HistoryBuffer``
would let a crafted file rewrite class-level state (``HistoryBuffer.__setstate__`` merges the file's
table into the class's), so lwmm allows neither. Instead:

- :class:`PlainCheckpointHook` (added to every training by lwmm's tools) writes the message hub's
  buffers as tensors and NumPy scalars as Python numbers: torch reads such a checkpoint with no
  allow-list at all, and the hook turns the buffers back into ``HistoryBuffer`` objects on resume.
- :func:`mmengine_checkpoint_globals` reads the checkpoints mmengine writes by itself (or lwmm wrote
  before the hook): for the length of one load, it maps the two names that need code to harmless
  stand-ins (:class:`PickledHistoryBuffer`, which keeps only the logged values, and
  :func:`statistics_method_name`, which answers only ``getattr(HistoryBuffer, <default statistic>)``)
  and allows NumPy's array and scalar reconstruction. lwmm's loads use it: :func:`load_checkpoint_file`,
  ``read_checkpoint``, the Runner's own ``resume`` / ``load_from`` (:func:`guard_runner_loads`, applied by
  ``build_runner``), ``lwmm.analysis.inference.load_model`` and tools/deploy/export_onnx.py.

Nothing is added to torch's allow-list outside those loads. docs/checkpoint_safety.md says why each
entry is harmless.
"""
import contextlib
import copy
import functools
import importlib
import pickle
from typing import Iterator, List, Tuple

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from lwmm.registry import HOOKS

#: the statistics every ``HistoryBuffer`` registers and pickles by name (mmengine 0.10.7)
DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')
#: the state a ``HistoryBuffer`` pickles: ``__dict__`` plus its ``__getstate__``'s statistics table
HISTORY_BUFFER_STATE = frozenset({'max_length', '_log_history', '_count_history', 'statistics_methods'})
#: keys of a buffer written in plain types by :class:`PlainCheckpointHook`
PLAIN_BUFFER_KEYS = frozenset({'log_history', 'count_history', 'max_length'})


class PickledHistoryBuffer:
    """What a pickled ``HistoryBuffer`` becomes while a checkpoint loads: its logged values, checked.

    The statistics table it pickles is dropped (it names only the default methods, which mmengine
    registers itself); anything else in the state is refused.
    """

    def __setstate__(self, state) -> None:
        if not isinstance(state, dict) or not set(state) <= HISTORY_BUFFER_STATE:
            extra = sorted(set(state) - HISTORY_BUFFER_STATE) if isinstance(state, dict) else type(state).__name__
            raise pickle.UnpicklingError(f'a pickled HistoryBuffer holds {extra}, not a history buffer\'s state')
        for key in ('_log_history', '_count_history'):
            values = state.get(key)
            if not (isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in 'biuf'):
                raise pickle.UnpicklingError(f'a pickled HistoryBuffer\'s {key} is {type(values).__name__}, '
                                             'not a 1-d numeric array')
        if type(state.get('max_length')) is not int:
            raise pickle.UnpicklingError('a pickled HistoryBuffer\'s max_length is not an int')
        methods = state.get('statistics_methods', {})
        if not (isinstance(methods, dict) and all(value in DEFAULT_STATISTICS for value in methods.values())):
            raise pickle.UnpicklingError('a pickled HistoryBuffer\'s statistics table names methods other than '
                                         f'{DEFAULT_STATISTICS}')
        self.log_history = state['_log_history']
        self.count_history = state['_count_history']
        self.max_length = state['max_length']

    def to_history_buffer(self) -> HistoryBuffer:
        return HistoryBuffer(self.log_history, self.count_history, self.max_length)


def statistics_method_name(owner, name):
    """Stands in for ``getattr`` while a checkpoint loads: a pickled HistoryBuffer names its statistics
    methods as ``getattr(HistoryBuffer, 'mean')``; that, and nothing else, is answered (with the name)."""
    if owner is PickledHistoryBuffer and name in DEFAULT_STATISTICS:
        return name
    # what the file named: its getattr and HistoryBuffer resolve to the stand-ins
    owner = {statistics_method_name: 'getattr', PickledHistoryBuffer: 'HistoryBuffer'}.get(owner, type(owner).__name__)
    raise pickle.UnpicklingError(f'the checkpoint calls getattr({owner}, {name!r}): lwmm reads only HistoryBuffer\'s '
                                 f'{", ".join(DEFAULT_STATISTICS)} this way (getattr is not allowed: with it a file '
                                 'reaches any object)')


def _numpy_globals() -> List[Tuple[object, str]]:
    """NumPy's array and scalar reconstruction, under the names NumPy 1.x and 2.x pickle them with, and the
    numeric dtype classes (a pickled dtype is built, then given its state: torch asks that its type be allowed)."""
    entries = [(np.ndarray, 'numpy.ndarray'), (np.dtype, 'numpy.dtype')]
    for dtype_class in {type(np.dtype(code)) for code in '?bBhHiIlLqQefdg'} - {np.dtype}:
        entries.append((dtype_class, f'{dtype_class.__module__}.{dtype_class.__qualname__}'))
    for module_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        for name in ('_reconstruct', 'scalar'):
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            entries.append((getattr(module, name), f'{module_name}.{name}'))
    return entries


def mmengine_globals() -> List[Tuple[object, str]]:
    """``(object, pickled name)`` entries that a checkpoint written by mmengine 0.10.7 needs."""
    return _numpy_globals() + [
        (PickledHistoryBuffer, f'{HistoryBuffer.__module__}.{HistoryBuffer.__qualname__}'),
        (statistics_method_name, 'builtins.getattr'),
    ]


@contextlib.contextmanager
def mmengine_checkpoint_globals() -> Iterator[None]:
    """Let ``torch.load(weights_only=True)`` read mmengine's checkpoints, for the length of the block.

    torch's allow-list is one per process: threads loading meanwhile see the same entries, each of them
    harmless. Entries that were allowed before stay allowed after.
    """
    safe_globals = getattr(torch.serialization, 'safe_globals', None)
    if safe_globals is None:  # torch < 2.5 has no scoped allow-list (and loads with weights_only=False)
        yield
        return
    present = set(torch.serialization.get_safe_globals())
    with safe_globals([entry for entry in mmengine_globals() if entry not in present]):
        yield


def plain_message_hub(state: dict) -> dict:
    """A message hub's ``state_dict`` with its buffers as ``dict(log_history=Tensor, count_history=Tensor,
    max_length=int)`` and NumPy scalars as Python numbers (in place; returned for convenience)."""
    scalars = state.get('log_scalars', {})
    for key, buffer in scalars.items():
        if isinstance(buffer, HistoryBuffer):
            log_history, count_history = buffer.data
            scalars[key] = dict(log_history=torch.from_numpy(np.ascontiguousarray(log_history)),
                                count_history=torch.from_numpy(np.ascontiguousarray(count_history)),
                                max_length=int(buffer.max_length))
    return state


def restore_message_hub(state: dict) -> dict:
    """Undo :func:`plain_message_hub`, and turn :class:`PickledHistoryBuffer` stand-ins into buffers
    (in place): what ``MessageHub.load_state_dict`` expects."""
    scalars = state.get('log_scalars') if isinstance(state, dict) else None
    if not isinstance(scalars, dict):
        return state
    for key, buffer in scalars.items():
        if isinstance(buffer, PickledHistoryBuffer):
            scalars[key] = buffer.to_history_buffer()
        elif isinstance(buffer, dict) and set(buffer) == PLAIN_BUFFER_KEYS:
            # resume maps the checkpoint to the training device: the buffers live on the CPU
            scalars[key] = HistoryBuffer(buffer['log_history'].cpu().numpy(),
                                         buffer['count_history'].cpu().numpy(), buffer['max_length'])
    return state


def numpy_scalars_to_python(value):
    """``value`` with every NumPy scalar inside dicts, lists and tuples made a Python number. Containers
    holding one are copied (a dataset's ``metainfo`` in ``meta`` stays as it was); others are returned."""
    if isinstance(value, np.generic):
        return value.item()
    if not isinstance(value, (dict, list)) and type(value) is not tuple:
        return value
    items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    converted = [(key, numpy_scalars_to_python(item)) for key, item in items]
    if all(new is old for (_, new), (_, old) in zip(converted, items)):
        return value
    if type(value) is tuple:
        return tuple(item for _, item in converted)
    copied = copy.copy(value)  # keeps the type: OrderedDict, Counter, defaultdict
    for key, item in converted:
        copied[key] = item
    return copied


def load_checkpoint_file(path: str, map_location='cpu') -> dict:
    """``torch.load(path, weights_only=True)`` that also reads mmengine's checkpoints, message hub restored."""
    with mmengine_checkpoint_globals():
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    if isinstance(checkpoint, dict) and 'message_hub' in checkpoint:
        restore_message_hub(checkpoint['message_hub'])
    return checkpoint


def refused_globals_hint(path: str, error: Exception) -> str:
    """Why a weights-only load of ``path`` was refused, and what to do, for an error message."""
    try:
        with mmengine_checkpoint_globals():
            refused = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # noqa: BLE001  (a legacy or broken file: torch's own message says enough)
        refused = []
    # torch wraps the unpickler's own message in a paragraph of advice
    reason = str(error).split('WeightsUnpickler error:')[-1].strip()
    first_line = (reason.splitlines() or [''])[0][:200]
    if not refused:
        return (f'{first_line}. mmengine never writes this: do not load the file unless you know where it '
                'came from (docs/checkpoint_safety.md).')
    return (f'it holds {", ".join(refused)}, which neither torch\'s weights-only loader nor lwmm allows '
            '(docs/checkpoint_safety.md lists what lwmm allows and why). Loading it would run code the file '
            'chooses. Only if you trust the file (you wrote it yourself): load it with '
            'torch.load(path, weights_only=False) in a script of your own and save its tensors, numbers and '
            'strings again with torch.save, then use that file.')


def guard_runner_loads(runner):
    """Make ``runner``'s ``resume`` and ``load_from`` (both go through ``Runner.load_checkpoint``) read
    mmengine's checkpoints with :func:`mmengine_checkpoint_globals`; other runners are untouched."""
    load_checkpoint = runner.load_checkpoint

    @functools.wraps(load_checkpoint)
    def guarded_load_checkpoint(*args, **kwargs):
        with mmengine_checkpoint_globals():
            checkpoint = load_checkpoint(*args, **kwargs)
        if isinstance(checkpoint, dict) and 'message_hub' in checkpoint:
            restore_message_hub(checkpoint['message_hub'])
        return checkpoint

    runner.load_checkpoint = guarded_load_checkpoint
    return runner


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Write checkpoints that ``torch.load(weights_only=True)`` reads with no allow-list.

    Before a checkpoint is saved, the message hub's ``HistoryBuffer`` objects become plain dicts of
    tensors and NumPy scalars in ``meta`` and the message hub become Python numbers; after one is
    loaded, the buffers are rebuilt, so ``resume`` continues the logged statistics. A runner without the
    hook only warns that it skips the buffers. lwmm's tools add it as ``default_hooks.plain_checkpoint``.
    """

    # last, so that what other hooks add to the checkpoint is converted too
    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in ('meta', 'message_hub'):
            if isinstance(checkpoint.get(key), dict):
                checkpoint[key] = numpy_scalars_to_python(checkpoint[key])
        if isinstance(checkpoint.get('message_hub'), dict):
            plain_message_hub(checkpoint['message_hub'])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if isinstance(checkpoint.get('message_hub'), dict):
            restore_message_hub(checkpoint['message_hub'])
