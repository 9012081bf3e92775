"""Training throughput of lwmm classifiers against their timm twins, in eager, channels-last and compiled form.

One training step is forward + cross-entropy + backward + SGD (momentum) on one fixed random batch. The
steps of all compared models and modes are timed in alternation in one process (one step of each, in
turn, ``repeats`` times, after ``warmup`` steps of each), so a change of load on a shared machine hits
them alike; images/s is the batch over the median step time. Dropout is off in both models
(``disable_dropout``): lwmm's MobileViT configs train with the paper's transformer dropout, timm's defaults
without, and the step should time the network, not its regulariser. Modes:

- ``eager``: the model as built, NCHW tensors;
- ``channels_last``: parameters and input in ``torch.channels_last`` (what ``lwmm.ChannelsLastHook`` does
  to a Runner's model);
- ``compile``: the whole step under ``torch.compile`` (what ``compile=True`` in an mmengine config does to
  ``train_step``: forward, loss, backward and optimizer step, with dynamo's graph breaks where it needs
  them), eager memory format.
"""
import copy
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from lwmm.analysis.timing import check_clock_threads, get_clock, summarize

MODES = ('eager', 'channels_last', 'compile')

#: lwmm config and timm twin compared by default: one per family lwmm converts timm's checkpoints of
DEFAULT_TWINS = ('ghostnet_100', 'ghostnetv2_100', 'mobilevit_xxs')


def twin_config(timm_name: str) -> str:
    """The path of the lwmm classifier config of timm model ``timm_name`` (ValueError when lwmm has no twin
    of it); lwmm's converters name it relative to the repository's ``configs/``."""
    from lwmm.converters import timm_config
    config = timm_config(timm_name)
    if not config:
        raise ValueError(f'timm model {timm_name!r} has no lwmm classifier of the same architecture (its '
                         'checkpoints only warm-start another network): pick a ghostnet*, ghostnetv2* or '
                         'mobilevit* model')
    return osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs', config)


def build_classifier(name: str) -> Tuple[nn.Module, Tuple[int, int]]:
    """(model in train mode, (H, W) of its evaluation input) for ``'timm:<model>'`` or an lwmm config path;
    random weights. timm models report (224, 224); callers train twins at the lwmm config's size."""
    if name.startswith('timm:'):
        import timm
        return timm.create_model(name[len('timm:'):], pretrained=False).train(), (224, 224)
    from mmengine.config import Config

    from lwmm.analysis.complexity import build_model_from_config, default_input_shape
    cfg = Config.fromfile(name)
    backbone = cfg.model.get('backbone') or {}
    if (backbone.get('init_cfg') or {}).get('type') == 'Pretrained':
        backbone.pop('init_cfg')
    return build_model_from_config(cfg).train(), default_input_shape(cfg)


def disable_dropout(model: nn.Module) -> int:
    """Set every dropout probability of ``model`` to 0 (``nn.Dropout`` modules and a timm head's functional
    ``drop_rate``), so a training step does no masking; returns how many were on."""
    switched = 0
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0:
            module.p, switched = 0.0, switched + 1
        if isinstance(getattr(module, 'drop_rate', None), float) and module.drop_rate > 0:
            module.drop_rate, switched = 0.0, switched + 1
    return switched


class TrainStep:
    """One SGD training step of ``model`` on a fixed batch, in ``mode`` (one of ``MODES``).

    OpenMMLab models are called in ``mode='tensor'`` (raw logits), so both sides pay the same loss.
    """

    def __init__(self, model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, mode: str = 'eager',
                 compile_kwargs: Optional[dict] = None):
        if mode not in MODES:
            raise ValueError(f'mode={mode!r} is not known: use one of {MODES}')
        from mmengine.model import BaseModel
        self.mode = mode
        self.model = model.train()
        self.kwargs = dict(mode='tensor') if isinstance(model, BaseModel) else {}
        self.inputs, self.labels = inputs, labels
        if mode == 'channels_last':
            self.model.to(memory_format=torch.channels_last)
            self.inputs = inputs.contiguous(memory_format=torch.channels_last)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.step = torch.compile(self._step, **(compile_kwargs or {})) if mode == 'compile' else self._step

    def _step(self) -> torch.Tensor:
        loss = F.cross_entropy(self.model(self.inputs, **self.kwargs), self.labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss

    def __call__(self) -> torch.Tensor:
        return self.step()


def time_steps(steps: Sequence[Callable[[], object]], warmup: int, repeats: int,
               clock: Callable[[], float]) -> List[List[float]]:
    """Seconds of each of ``steps``, ``repeats`` times in alternation after ``warmup`` runs of each (with
    autograd, unlike ``lwmm.analysis.timing.time_interleaved``)."""
    if repeats < 1:
        raise ValueError(f'repeats={repeats} must be at least 1')
    for _ in range(warmup):
        for step in steps:
            step()
    samples = [[] for _ in steps]
    for _ in range(repeats):
        for index, step in enumerate(steps):
            start = clock()
            step()
            samples[index].append(clock() - start)
    return samples


def compare_training(timm_names: Sequence[str] = DEFAULT_TWINS,
                     modes: Sequence[str] = MODES,
                     batch: int = 16,
                     size: Optional[int] = None,
                     warmup: int = 2,
                     repeats: int = 10,
                     threads: int = 1,
                     clock: str = 'cpu',
                     log: Callable[[str], None] = print) -> List[Dict]:
    """Training images/s of each lwmm twin and its timm model in each of ``modes``, one twin pair at a time.

    Each pair is timed in alternation (every model and mode of the pair in turn) at the lwmm config's input
    size (or ``size``). Returns one record per model and mode: ``pair``, ``model``, ``side`` ('lwmm' |
    'timm'), ``mode``, ``batch``, ``input_size``, ``images_per_s``, ``step_ms`` (median) and ``p90_ms``,
    ``vs_timm`` (lwmm over timm images/s, same mode) and ``vs_eager`` (over the same model's eager).
    """
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ValueError(f'modes={list(modes)!r}: use one or more of {MODES}')
    check_clock_threads(clock, threads)
    tick = get_clock(clock)
    threads_before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _compare(timm_names, modes, batch, size, warmup, repeats, threads, clock, tick, log)
    finally:
        torch.set_num_threads(threads_before)


def _compare(timm_names, modes, batch, size, warmup, repeats, threads, clock, tick, log) -> List[Dict]:
    records = []
    for timm_name in timm_names:
        config = twin_config(timm_name)
        lwmm_model, hw = build_classifier(config)
        timm_model, _ = build_classifier(f'timm:{timm_name}')
        hw = (size, size) if size else hw
        dropouts = {'lwmm': disable_dropout(lwmm_model), 'timm': disable_dropout(timm_model)}
        generator = torch.Generator().manual_seed(0)
        inputs = torch.randn(batch, 3, *hw, generator=generator)
        labels = torch.randint(0, 1000, (batch, ), generator=generator)
        entries = []
        for mode in modes:
            for side, name, model in (('lwmm', config, lwmm_model), ('timm', f'timm:{timm_name}', timm_model)):
                # each mode trains its own copy, so one mode's updates and memory format leave the others alone
                entries.append((side, name, mode, TrainStep(copy.deepcopy(model), inputs, labels, mode)))
        log(f'{timm_name}: {len(entries)} steps in alternation, batch {batch}, {hw[0]}x{hw[1]}, '
            f'{warmup} warm-up + {repeats} timed each; dropouts switched off: {dropouts}')
        samples = time_steps([entry[-1] for entry in entries], warmup, repeats, tick)
        pair = []
        for (side, name, mode, _), seconds in zip(entries, samples):
            stats = summarize(seconds)
            pair.append(dict(pair=timm_name, model=name, side=side, mode=mode, batch=batch, input_size=list(hw),
                             images_per_s=batch / (stats['median_ms'] / 1e3), step_ms=stats['median_ms'],
                             p90_ms=stats['p90_ms'], repeats=repeats, threads=threads, clock=clock))
        by_key = {(r['side'], r['mode']): r for r in pair}
        for record in pair:
            eager = by_key.get((record['side'], 'eager'))
            record['vs_eager'] = record['images_per_s'] / eager['images_per_s'] if eager else None
            timm_record = by_key[('timm', record['mode'])]
            record['vs_timm'] = record['images_per_s'] / timm_record['images_per_s']
            log(f"  {record['side']:4s} {record['mode']:13s} {record['images_per_s']:7.2f} img/s "
                f"({record['step_ms']:.0f} ms)  vs timm {record['vs_timm']:.3f}")
        records += pair
    return records


def markdown(records: Sequence[Dict]) -> str:
    """The records as a markdown table, one row per pair and mode."""
    lines = ['| timm twin | input | batch | mode | lwmm images/s | timm images/s | lwmm / timm | '
             'lwmm vs its eager | timm vs its eager |', '|---|---|---|---|---|---|---|---|---|']
    by_key = {(r['pair'], r['side'], r['mode']): r for r in records}
    for pair in dict.fromkeys(r['pair'] for r in records):
        for mode in dict.fromkeys(r['mode'] for r in records if r['pair'] == pair):
            ours, theirs = by_key[(pair, 'lwmm', mode)], by_key[(pair, 'timm', mode)]

            def speedup(record):
                return '-' if record['vs_eager'] is None else f"{record['vs_eager']:.2f}x"

            lines.append(f"| {pair} | {ours['input_size'][0]} | {ours['batch']} | {mode} | "
                         f"{ours['images_per_s']:.2f} | {theirs['images_per_s']:.2f} | {ours['vs_timm']:.3f} | "
                         f"{speedup(ours)} | {speedup(theirs)} |")
    return '\n'.join(lines)


def operator_counts(fn: Callable[[], object], runs: int = 1) -> Dict[str, Tuple[int, float]]:
    """``{operator: (calls per run, self CPU us per run)}`` of ``fn()`` under ``torch.profiler``."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(runs):
            fn()
    return {e.key: (e.count // runs, e.self_cpu_time_total / runs) for e in prof.key_averages()}


def compare_operators(timm_name: str, batch: int = 1, size: Optional[int] = None, train: bool = False,
                      runs: int = 3, mode: str = 'eager') -> List[Dict]:
    """The operators whose call counts differ between an lwmm twin and its timm model, for one inference
    forward (``train=False``, inference mode) or one training step: ``operator``, ``lwmm_calls``,
    ``timm_calls``, ``lwmm_us``, ``timm_us`` (self CPU time per run; times from a shared machine scatter,
    the counts do not). Sorted by the larger time. Dropout off in both, as in ``compare_training``; ``mode``
    is one of ``MODES`` but 'compile' (whose operators are generated kernels)."""
    if mode not in MODES[:2]:
        raise ValueError(f'mode={mode!r}: compare_operators takes {MODES[:2]}')
    config = twin_config(timm_name)
    models = [build_classifier(config), build_classifier(f'timm:{timm_name}')]
    for model, _ in models:
        disable_dropout(model)
    hw = (size, size) if size else models[0][1]
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(batch, 3, *hw, generator=generator)
    labels = torch.randint(0, 1000, (batch, ), generator=generator)
    counts = []
    for model, _ in models:
        step = TrainStep(model, inputs, labels, mode)
        if not train:
            model.eval()

            def step(model=model, kwargs=step.kwargs, step_inputs=step.inputs):
                with torch.inference_mode():
                    return model(step_inputs, **kwargs)

        step()  # first-call allocations and oneDNN primitive creation stay out of the profile
        counts.append(operator_counts(step, runs))
    rows = []
    for op in set(counts[0]) | set(counts[1]):
        (ours, our_us), (theirs, their_us) = counts[0].get(op, (0, 0.0)), counts[1].get(op, (0, 0.0))
        if ours != theirs:
            rows.append(dict(operator=op, lwmm_calls=ours, timm_calls=theirs, lwmm_us=our_us, timm_us=their_us))
    return sorted(rows, key=lambda r: -max(r['lwmm_us'], r['timm_us']))
