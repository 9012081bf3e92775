"""lwmm.analysis.benchmark_report: the report's table columns, and merging runs."""
import json

import pytest

from lwmm.analysis.benchmark_report import markdown, merge_runs

#: The classifier table's columns: docs/benchmarks.md and model_zoo read them, keep them stable.
CLASSIFIER_COLUMNS = ['family', 'model', 'input', 'params (M)', 'MACs (M)', 'batch', 'eager', 'fused', 'ORT',
                      'reference', 'ref eager', 'ref ORT', 'eager x', 'fused x', 'ORT x']


def _meta(**extra):
    return dict(timestamp='20250101_000000', cpu='cpu', logical_cpus=2, load_start='0', torch='2', torch_threads=1,
                onnxruntime='1', threads=1, timm='1', clock='wall', repeats=3, warmup=1, large_batch_repeats=1,
                large_batch_warmup=0, command='python tools/analysis/benchmark.py --quick', **extra)


def test_classifier_table():
    common = dict(task='cls', family='GhostNet', batch=1, input_size=[224, 224], params=2.6e6, macs=42e6)
    records = [dict(common, model='ghostnet-0.5x_in1k', role='lwmm', mode='eager', latency_ms=9.0, p90_ms=9.5,
                    reference='timm:ghostnet_050', reference_kind='twin', ratio=0.9, goal_met=True),
               dict(common, model='ghostnet-0.5x_in1k', role='lwmm', mode='fused', latency_ms=8.8, p90_ms=9.0,
                    ratio=0.88, goal_met=False),
               dict(common, model='timm:ghostnet_050', role='reference', mode='eager', latency_ms=10.0, p90_ms=11.0)]
    lines = markdown(records, _meta()).splitlines()
    header = lines.index('| ' + ' | '.join(CLASSIFIER_COLUMNS) + ' |')
    row = [cell.strip() for cell in lines[header + 2].strip('|').split('|')]
    assert row == ['GhostNet', 'ghostnet-0.5x_in1k', '224', '2.60', '42', '1', '9.00 / 9.50', '8.80 / 9.00', '-',
                   'timm:ghostnet_050 (twin)', '10.00 / 11.00', '-', '0.90 ✓', '0.88 ✗', '-']
    assert 'Goals met: 1 of 2' in '\n'.join(lines)


def test_merge_runs(tmp_path):
    """Runs of separate families merge into one report: all records, every command."""
    paths = []
    for index, family in enumerate(('GhostNet', 'MobileViT')):
        meta = dict(command=f'python tools/analysis/benchmark.py --families {family.lower()}', load_start=f'{index}',
                    load_end='1', profiles=[], max_other_threads_cpu_share=0.01 * index)
        record = dict(task='cls', model=family.lower(), family=family, mode='eager', batch=1, latency_ms=1.0 + index)
        paths.append(str(tmp_path / f'{family}.json'))
        with open(paths[-1], 'w') as f:
            json.dump(dict(meta=meta, results=[record]), f)
    meta, records, profiles = merge_runs(paths)
    assert [r['model'] for r in records] == ['ghostnet', 'mobilevit'] and profiles == {}
    assert '--families ghostnet' in meta['command'] and '--families mobilevit' in meta['command']
    assert meta['max_other_threads_cpu_share'] == 0.01 and meta['merged'] == ['GhostNet.json', 'MobileViT.json']
    with pytest.raises(FileNotFoundError, match='missing.json'):
        merge_runs([str(tmp_path / 'missing.json')])
