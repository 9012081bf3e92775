"""tools/analysis/benchmark_training.py: prints the pair's table and writes its records."""
import json
import sys

import pytest


def test_tool_prints_the_table_and_writes_the_records(load_tool, monkeypatch, tmp_path, capsys):
    tool = load_tool('tools/analysis/benchmark_training.py')
    out = tmp_path / 'records.json'
    monkeypatch.setattr(sys, 'argv', [
        'benchmark_training.py', '--twins', 'ghostnet_050', '--modes', 'eager', 'channels_last', '--batch', '2',
        '--size', '32', '--warmup', '0', '--repeats', '1', '--clock', 'wall', '--out', str(out)])
    tool.main()
    printed = capsys.readouterr().out
    assert '| ghostnet_050 | 32 | 2 | eager | ' in printed
    assert '| ghostnet_050 | 32 | 2 | channels_last | ' in printed
    saved = json.loads(out.read_text())
    assert saved['args']['twins'] == ['ghostnet_050']
    assert [(r['side'], r['mode']) for r in saved['records']] == [
        ('lwmm', 'eager'), ('timm', 'eager'), ('lwmm', 'channels_last'), ('timm', 'channels_last')]


def test_cpu_clock_with_two_threads_is_refused(load_tool, monkeypatch):
    tool = load_tool('tools/analysis/benchmark_training.py')
    monkeypatch.setattr(sys, 'argv', ['benchmark_training.py', '--threads', '2'])
    with pytest.raises(ValueError, match="clock='cpu' measures the calling thread only, but threads=2: use threads=1"):
        tool.main()
