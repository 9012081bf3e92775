"""The DY-CNN paper's seven classifier rows under candidate counting rules, beside the paper's figures.

Dynamic Convolution (Chen et al., CVPR 2020), Table 2: DY-MobileNetV2 x1.0 / x0.75 / x0.5 / x0.35,
DY-MobileNetV3-Small, DY-ResNet-18 / -10. The paper states the rule only as "dynamic convolution in all
convolution layers except the first", K = 4, attention reduction 4; its counts decide the rest, and this
tool shows which choices reproduce them (docs/dynamic_conv.md, "How the counts are made").

Each static classifier (the shipped config's, configs/cls/dy-*.py, with nothing converted) is run once at
224x224 to record every conv's shape. A rule then adds, for every conv it makes dynamic: K - 1 more
kernels (and biases), the attention FCs (``C_in -> hidden -> K``, with biases), and as multiply-adds the
kernel aggregation (K per kernel weight and bias), the attention FCs and, when the rule says so, one per
element of the pooled input. The ``lwmm`` rule is what lwmm builds; its figures equal
``lwmm.analysis.count_complexity`` of the built DY classifiers (tests/tools/test_dynamic_conv_counts.py).

Example::

    python tools/analysis/dynamic_conv_counts.py
"""
import argparse
import copy
import functools
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn as nn

#: network -> (params, MACs, params unit): the paper's Table 2. The ResNet params are in units of 2**20:
#: its ResNet-18 / -10 baselines, "11.1M" / "5.2M", are the standard 11,689,512 / 5,418,792 params
#: divided by 2**20 (11.15 / 5.17), while in 10**6 they would be 11.7M / 5.4M.
PAPER = {
    'DY-MobileNetV2 x1.0': (11.1, 312.9e6, 1e6),
    'DY-MobileNetV2 x0.75': (7.0, 217.5e6, 1e6),
    'DY-MobileNetV2 x0.5': (4.0, 101.4e6, 1e6),
    'DY-MobileNetV2 x0.35': (2.8, 62.0e6, 1e6),
    'DY-MobileNetV3-Small': (4.8, 68.5e6, 1e6),
    'DY-ResNet-18': (42.7, 1.85e9, 2**20),
    'DY-ResNet-10': (18.6, 0.91e9, 2**20),
}
TOLERANCE = 0.02

#: rule name -> (description, settings that differ from the lwmm rule)
RULES = {
    'lwmm': ('what lwmm builds: all convs but the stem, the MobileNetV2 final 1x1 conv, the MobileNetV3 SE '
             'gates and the ResNet shortcuts; hidden C_in // 4; MobileNetV3 head 1280; pooling not counted', {}),
    'final conv / shortcuts dynamic': ('also the MobileNetV2 final 1x1 conv and the ResNet 1x1 shortcuts',
                                       dict(v2_final=True, resnet_shortcut=True)),
    'SE gates dynamic': ('also the MobileNetV3 SE gates (1x1 convs)', dict(v3_se=True)),
    'MobileNetV3 head 1024': ("the MobileNetV3 paper's head, 576 -> 1024 -> 1000", dict(v3_head=1024)),
    'ResNet params in 10**6': ('the ResNet params in units of 10**6', dict(resnet_unit=1e6)),
    'hidden C_in // 8': ('attention reduction 8 instead of 4', dict(reduction=8)),
    'hidden C_in // 2': ('attention reduction 2 instead of 4', dict(reduction=2)),
    'hidden max(C_in // 4, 64)': ('attention hidden width at least 64', dict(min_hidden=64)),
    'pooling counted': ('one multiply-add per element pooled by every attention', dict(pooling='all')),
    'pooling at depthwise inputs': ('one per element pooled, depthwise convs only', dict(pooling='depthwise')),
}
DEFAULTS = dict(v2_final=False, resnet_shortcut=False, v3_se=False, v3_head=1280, resnet_unit=2**20,
                reduction=4, min_hidden=1, pooling='none')


#: network -> its shipped config (configs/cls/), whose classifier the counts are made from
CONFIGS = {
    'DY-MobileNetV2 x1.0': 'cls/dy-mobilenetv2-1.0x_in1k.py',
    'DY-MobileNetV2 x0.75': 'cls/dy-mobilenetv2-0.75x_in1k.py',
    'DY-MobileNetV2 x0.5': 'cls/dy-mobilenetv2-0.5x_in1k.py',
    'DY-MobileNetV2 x0.35': 'cls/dy-mobilenetv2-0.35x_in1k.py',
    'DY-MobileNetV3-Small': 'cls/dy-mobilenetv3-small_in1k.py',
    'DY-ResNet-18': 'cls/dy-resnet18_in1k.py',
    'DY-ResNet-10': 'cls/dy-resnet10_in1k.py',
}


@functools.lru_cache(maxsize=None)
def _config(network: str):
    from lwmm.analysis.config_models import load_config
    return load_config(CONFIGS[network])


def static_classifier(network: str, v3_head: int = 1280) -> nn.Module:
    """The shipped config's classifier of ``network`` with nothing converted (``include=[]`` selects no
    conv); ``v3_head`` is the hidden width of the MobileNetV3 head."""
    from lwmm.analysis.config_models import build_model_from_config
    if network not in CONFIGS:
        raise ValueError(f'network={network!r} is not known: use one of {list(PAPER)}')
    cfg = copy.deepcopy(_config(network))
    cfg.model.backbone.rule = dict(include=[])
    if network == 'DY-MobileNetV3-Small':
        cfg.model.head.mid_channels = [v3_head]
    return build_model_from_config(cfg)


def record_convs(model: nn.Module) -> List[dict]:
    """Every ``nn.Conv2d`` of ``model`` in call order, with its shape and input/output sizes at 224x224."""
    records, handles = [], []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):

            def hook(conv, inputs, output, name=name):
                records.append(dict(name=name, in_channels=conv.in_channels, out_channels=conv.out_channels,
                                    groups=conv.groups, kernel=conv.kernel_size, weights=conv.weight.numel(),
                                    bias=conv.bias is not None, input_elements=inputs[0][0].numel(),
                                    output_pixels=output.shape[2] * output.shape[3]))

            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, 224, 224))
    finally:
        for handle in handles:
            handle.remove()
    return records


def is_dynamic(network: str, conv: dict, index: int, settings: dict) -> bool:
    """Whether ``settings`` make ``conv`` (the ``index``-th conv run) dynamic in ``network``."""
    if index == 0:  # the stem: "all convolution layers except the first"
        return False
    if network.startswith('DY-MobileNetV2') and conv['out_channels'] == 1280 and conv['kernel'] == (1, 1):
        return settings['v2_final']
    if network == 'DY-MobileNetV3-Small' and '.se.' in conv['name']:
        return settings['v3_se']
    if network.startswith('DY-ResNet') and 'downsample' in conv['name']:
        return settings['resnet_shortcut']
    return True


def count(network: str, settings: dict, K: int = 4) -> Tuple[int, int]:
    """(params, MACs) of the DY classifier of ``network`` under ``settings`` (see the module docstring)."""
    static = static_classifier(network, settings['v3_head'])
    params = sum(p.numel() for p in static.parameters())
    linears = [m for m in static.modules() if isinstance(m, nn.Linear)]
    macs = sum(m.in_features * m.out_features for m in linears)
    for index, conv in enumerate(record_convs(static)):
        macs += conv['weights'] * conv['output_pixels']
        if not is_dynamic(network, conv, index, settings):
            continue
        kernel = conv['weights'] + (conv['out_channels'] if conv['bias'] else 0)
        hidden = max(conv['in_channels'] // settings['reduction'], settings['min_hidden'], 1)
        attention = conv['in_channels'] * hidden + hidden * K
        params += (K - 1) * kernel + attention + hidden + K
        macs += K * kernel + attention
        if settings['pooling'] == 'all' or (settings['pooling'] == 'depthwise' and conv['groups'] > 1):
            macs += conv['input_elements']
    return params, macs


def compare(rules: Dict[str, Tuple[str, dict]] = RULES, networks=tuple(PAPER)) -> List[dict]:
    """One row per (rule, network): counts, the paper's figures and the relative differences."""
    rows = []
    for rule, (_, changes) in rules.items():
        settings = dict(DEFAULTS, **changes)
        for network in networks:
            paper_params, paper_macs, unit = PAPER[network]
            if network.startswith('DY-ResNet'):
                unit = settings['resnet_unit']
            params, macs = count(network, settings)
            rows.append(dict(rule=rule, network=network, params=params / unit, macs=macs,
                             params_diff=params / unit / paper_params - 1, macs_diff=macs / paper_macs - 1,
                             unit=unit))
    return rows


def format_table(rows: List[dict], cell: Callable[[dict], str] = None) -> str:
    """A markdown table: one line per rule, one column per network, "params % / MACs %" against the paper
    (bold where beyond 2 %)."""

    def percent(value):
        text = f'{value * 100:+.1f}'
        return f'**{text}**' if abs(value) > TOLERANCE else text

    networks = list(dict.fromkeys(row['network'] for row in rows))
    rules = list(dict.fromkeys(row['rule'] for row in rows))
    lines = ['| rule | ' + ' | '.join(networks) + ' |', '|---' * (len(networks) + 1) + '|']
    for rule in rules:
        cells = [f'{percent(r["params_diff"])} / {percent(r["macs_diff"])}' for r in rows if r['rule'] == rule]
        lines.append(f'| {rule} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rules', nargs='+', choices=list(RULES), default=list(RULES))
    parser.add_argument('--networks', nargs='+', choices=list(PAPER), default=list(PAPER), metavar='NETWORK')
    args = parser.parse_args(argv)
    import lwmm  # noqa: F401  (registers lwmm's modules)
    rows = compare({name: RULES[name] for name in args.rules}, args.networks)
    print('Counts of the lwmm rule (params in the paper\'s unit for that row, MACs), against the paper:\n')
    print('| network | params | paper | MACs | paper |')
    print('|---|---|---|---|---|')
    for row in rows:
        if row['rule'] == 'lwmm':
            paper_params, paper_macs, _ = PAPER[row['network']]
            unit = 'M' if row['unit'] == 1e6 else ' x 2^20'
            print(f'| {row["network"]} | {row["params"]:.2f}{unit} ({row["params_diff"] * 100:+.1f} %) | '
                  f'{paper_params}{unit} | {row["macs"] / 1e6:.1f}M ({row["macs_diff"] * 100:+.1f} %) | '
                  f'{paper_macs / 1e6:.1f}M |')
    print('\nEvery rule, params % / MACs % against the paper (bold: beyond 2 %):\n')
    print(format_table(rows))
    print('\nRules:')
    for name in args.rules:
        print(f'- {name}: {RULES[name][0]}')
    return rows


if __name__ == '__main__':
    main()
