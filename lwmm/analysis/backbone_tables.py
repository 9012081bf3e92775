"""Per-family tables of each stage's stride and channels, measured by running the backbones themselves.

``measure_stages`` builds a backbone with every stage returned and runs a dummy image through it: the stride
of a stage is the input size over its output size, its channels the output's second dimension. Nothing in
the tables is typed by hand; ``render_tables`` turns the measurements into the Markdown that
docs/backbones.md holds between ``TABLES_START`` and ``TABLES_END``, and ``update_doc`` also replaces every
quoted swap config (``<!-- swap:<path>:start -->``) by that file's current text, so the document cannot
drift from the models or from the configs it quotes.
"""
import os.path as osp
import re
from typing import Dict, List, Sequence, Tuple

import torch

TABLES_START = '<!-- backbone-tables:start -->'
TABLES_END = '<!-- backbone-tables:end -->'
#: a quoted file: ``<!-- swap:docs/swaps/x.py:start -->`` ... ``<!-- swap:docs/swaps/x.py:end -->``
SWAP_BLOCK = re.compile(r'(<!-- swap:(?P<path>[^ ]+?):start -->\n)(?P<body>.*?)(<!-- swap:(?P=path):end -->)',
                        re.DOTALL)

#: (family, variant label, backbone config without out_indices / out_stride): the published widths and archs
VARIANTS: Tuple[Tuple[str, str, dict], ...] = (
    ('GhostNet', '0.5x', dict(type='GhostNet', widen_factor=0.5)),
    ('GhostNet', '1.0x', dict(type='GhostNet', widen_factor=1.0)),
    ('GhostNet', '1.3x', dict(type='GhostNet', widen_factor=1.3)),
    ('GhostNetV2', '1.0x', dict(type='GhostNetV2', widen_factor=1.0)),
    ('GhostNetV2', '1.3x', dict(type='GhostNetV2', widen_factor=1.3)),
    ('GhostNetV2', '1.6x', dict(type='GhostNetV2', widen_factor=1.6)),
    ('MobileViT', 'xx_small', dict(type='MobileViT', arch='xx_small')),
    ('MobileViT', 'x_small', dict(type='MobileViT', arch='x_small')),
    ('MobileViT', 'small', dict(type='MobileViT', arch='small')),
    ('OctResNet', '50, alpha 0.5', dict(type='OctResNet', depth=50, alpha=0.5)),
    ('OctMobileNetV2', '1.0x, alpha 0.375', dict(type='OctMobileNetV2', widen_factor=1.0, alpha=0.375)),
    ('DYMobileNetV2', '1.0x', dict(type='DYMobileNetV2', widen_factor=1.0)),
    ('DYMobileNetV2', '0.75x', dict(type='DYMobileNetV2', widen_factor=0.75)),
    ('DYMobileNetV2', '0.5x', dict(type='DYMobileNetV2', widen_factor=0.5)),
    ('DYMobileNetV2', '0.35x', dict(type='DYMobileNetV2', widen_factor=0.35)),
    ('DYMobileNetV3', 'small', dict(type='DYMobileNetV3', arch='small')),
    ('DYMobileNetV3', 'large', dict(type='DYMobileNetV3', arch='large')),
    ('DYResNet', '10', dict(type='DYResNet', depth=10)),
    ('DYResNet', '18', dict(type='DYResNet', depth=18)),
)
OUT_STRIDES = (32, 16, 8)
#: the dummy image: divisible by 32 and by MobileViT's 2x2 patches at every stage
INPUT_SIZE = 64


def build_backbone(cfg: dict, out_stride: int = 32):
    """The lwmm backbone of ``cfg`` at ``out_stride``, returning every stage (one build: out_indices only
    selects what ``forward`` returns)."""
    from lwmm.registry import MODELS
    # 'lwmm.' scoped: an unscoped type would be looked up in whatever default scope the process has set
    backbone = MODELS.build(dict(cfg, type=f"lwmm.{cfg['type']}", out_stride=out_stride))
    backbone.out_indices = tuple(range(len(backbone.stages)))
    return backbone


@torch.no_grad()
def measure_stages(backbone, size: int = INPUT_SIZE) -> List[Tuple[int, int]]:
    """``(stride, channels)`` of each returned output of ``backbone``, from one ``size`` x ``size`` image."""
    backbone.eval()
    outputs = backbone(torch.zeros(1, 3, size, size))
    measured = []
    for out in outputs:
        if out.shape[-1] * (size // out.shape[-1]) != size:
            raise ValueError(f'{type(backbone).__name__}: an output of width {out.shape[-1]} does not divide the '
                             f'input width {size}; measure with a size every stage divides.')
        measured.append((size // out.shape[-1], out.shape[1]))
    return measured


def measure_variants(variants: Sequence[Tuple[str, str, dict]] = VARIANTS,
                     out_strides: Sequence[int] = OUT_STRIDES) -> Dict[Tuple[str, str], Dict[int, list]]:
    """``{(family, variant): {out_stride: [(stride, channels) per stage]}}``; an out_stride a family refuses
    is stored as the ValueError's message."""
    torch.manual_seed(0)
    table = {}
    for family, label, cfg in variants:
        rows = {}
        for out_stride in out_strides:
            try:
                rows[out_stride] = measure_stages(build_backbone(cfg, out_stride))
            except ValueError as error:
                if 'out_stride' not in str(error):
                    raise
                rows[out_stride] = str(error)
        table[(family, label)] = rows
    return table


def _call(cfg: dict) -> str:
    args = ', '.join(f'{key}={value!r}' for key, value in cfg.items() if key != 'type')
    return f"`type='lwmm.{cfg['type']}', {args}`"


def render_tables(measured: Dict[Tuple[str, str], Dict[int, list]],
                  variants: Sequence[Tuple[str, str, dict]] = VARIANTS) -> str:
    """Markdown: one table per family, a row per variant and out_stride, a column per stage index."""
    cfgs = {(family, label): cfg for family, label, cfg in variants}
    lines = []
    for family in dict.fromkeys(family for family, _, _ in variants):
        keys = [key for key in measured if key[0] == family]
        num_stages = max(len(rows) for key in keys for rows in measured[key].values() if isinstance(rows, list))
        lines += [f'### {family}', '',
                  '| variant | out_stride | ' + ' | '.join(f'stage {i}' for i in range(num_stages)) + ' |',
                  '|---|---|' + '---|' * num_stages]
        for key in keys:
            for position, (out_stride, rows) in enumerate(measured[key].items()):
                variant = f'{key[1]} ({_call(cfgs[key])})' if position == 0 else ''
                head = f'| {variant} | {out_stride} | '
                if isinstance(rows, str):
                    lines.append(head + f'not supported: {rows} |' + ' |' * (num_stages - 1))
                    continue
                cells = [f'/{stride}, {channels} ch' for stride, channels in rows]
                cells += [''] * (num_stages - len(cells))
                lines.append(head + ' | '.join(cells) + ' |')
        lines.append('')
    refused = sorted({key[0] for key, rows in measured.items() if any(isinstance(r, str) for r in rows.values())})
    lines.append('Families that refuse an out_stride: ' + (', '.join(refused) if refused else
                 'none; every family listed dilates its last stages for 16 and 8.'))
    return '\n'.join(lines).rstrip('\n') + '\n'


def replace_between(text: str, start: str, end: str, body: str) -> str:
    """``text`` with what lies between the ``start`` and ``end`` markers replaced by ``body``."""
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f'the document must hold {start} once, followed by {end} once; add both markers '
                         f'where the generated section belongs.')
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f'{head}{start}\n{body}{end}{tail}'


def quote_swaps(text: str, root: str) -> str:
    """Every ``<!-- swap:<path>:start -->`` block of ``text`` replaced by the file at ``root/<path>`` in a
    ```python fence."""
    def quote(match):
        path = osp.join(root, match.group('path'))
        if not osp.isfile(path):
            raise FileNotFoundError(f'docs quote {match.group("path")}, which does not exist under {root}.')
        with open(path) as f:
            source = f.read()
        return f'{match.group(1)}```python\n{source}```\n{match.group(4)}'
    return SWAP_BLOCK.sub(quote, text)


def update_doc(text: str, root: str, measured=None) -> str:
    """docs/backbones.md with its generated tables and quoted swap configs regenerated."""
    tables = render_tables(measured if measured is not None else measure_variants())
    return quote_swaps(replace_between(text, TABLES_START, TABLES_END, tables), root)
