"""tools/analysis/benchmark.py, the command line: argument errors and one quick run's outputs (the logic is
tested in tests/analysis/: references, benchmark_latency, benchmark_report, timing)."""
import json
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GHOSTNET = osp.join(ROOT, 'configs', 'cls', 'ghostnet-0.5x_in1k.py')
SSDLITE = osp.join(ROOT, 'configs', 'det', 'ssdlite_ghostnetv2_coco.py')


@pytest.fixture(scope='module')
def benchmark(load_tool):
    return load_tool('tools/analysis/benchmark.py')


@pytest.mark.parametrize('argv, message', [
    (['--families', 'nosuchnet'], "--families ['nosuchnet'] not known: choose from"),
    (['--configs', 'configs/cls/missing.py'], "'configs/cls/missing.py' is neither a config file nor a folder"),
    (['--clock', 'cpu', '--threads', '2'], "clock='cpu' measures the calling thread only"),
])
def test_bad_arguments(benchmark, capsys, argv, message):
    """Bad arguments stop the command line before anything is measured, with the fix in argparse's message."""
    with pytest.raises(SystemExit) as exit_info:
        benchmark.main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_model_zoo_reads_eager_batch1(load_tool, tmp_path):
    """model_zoo takes each config's eager batch-1 latency from the benchmark's records of all modes."""
    records = [dict(task='cls', config='configs/cls/a.py', mode=mode, batch=batch, latency_ms=ms)
               for mode, batch, ms in (('eager', 1, 5.0), ('fused', 1, 4.0), ('eager', 32, 90.0),
                                       ('onnxruntime', 1, 2.0))]
    records += [dict(task='cls', config=None, model='timm:x', mode='eager', batch=1, latency_ms=6.0),
                dict(task='train', config='configs/cls/a.py', mode='train', batch=16, images_per_s=30.0)]
    path = tmp_path / 'latest.json'
    path.write_text(json.dumps(dict(meta={}, results=records)))
    assert load_tool('tools/analysis/model_zoo.py').load_latency(str(path)) == {'configs/cls/a.py': 5.0}


# A real run costs ~20 s of CPU (imports, two exports, two training subprocesses), more on a loaded machine.
@pytest.fixture(scope='module')
def quick_run(benchmark, tmp_path_factory):
    """One quick run: GhostNet 0.5x and its timm twin at 64x64 in the three modes, SSDLite end to end,
    training throughput at batch 2."""
    out_dir = str(tmp_path_factory.mktemp('benchmark'))
    payload = benchmark.main(['--quick', '--configs', GHOSTNET, '--size', '64', '--e2e-configs', SSDLITE,
                              '--train-batch', '2', '--out-dir', out_dir])
    return payload, out_dir


@pytest.mark.slow
def test_quick_run_records(quick_run):
    payload, out_dir = quick_run
    with open(osp.join(out_dir, 'latest.json')) as f:
        saved = json.load(f)
    assert saved == json.loads(json.dumps(payload))
    meta, records = saved['meta'], saved['results']
    assert meta['threads'] == 1 and meta['torch_threads'] == 1 and meta['batch_sizes'] == [1]
    cls = {(r['model'], r['mode']): r for r in records if r['task'] == 'cls'}
    assert set(cls) == {('ghostnet-0.5x_in1k', m) for m in ('eager', 'fused', 'onnxruntime')} | {
        ('timm:ghostnet_050', m) for m in ('eager', 'onnxruntime')}
    for record in cls.values():
        assert record['latency_ms'] > 0 and record['p90_ms'] >= record['latency_ms'], record
        assert record['batch'] == 1 and record['input_size'] == [64, 64] and record['repeats'] == 3
        assert record['params'] > 2e6 and record['macs'] > 0
    ours, twin = cls[('ghostnet-0.5x_in1k', 'eager')], cls[('timm:ghostnet_050', 'eager')]
    assert ours['config'] == 'configs/cls/ghostnet-0.5x_in1k.py' and twin['config'] is None
    assert ours['reference'] == 'timm:ghostnet_050' and ours['reference_kind'] == 'twin'
    assert ours['ratio'] == pytest.approx(ours['latency_ms'] / twin['latency_ms'])
    assert ours['params'] == twin['params']  # the same architecture
    fused, ort = cls[('ghostnet-0.5x_in1k', 'fused')], cls[('ghostnet-0.5x_in1k', 'onnxruntime')]
    assert fused['ratio'] == pytest.approx(fused['latency_ms'] / twin['latency_ms'])
    assert ort['ratio'] == pytest.approx(ort['latency_ms'] / cls[('timm:ghostnet_050', 'onnxruntime')]['latency_ms'])
    assert fused['goal_met'] == (fused['ratio'] <= 0.85)

    det = [r for r in records if r['task'] == 'det']
    assert {(r['model'], r['mode']) for r in det} == {
        ('ssdlite_ghostnetv2_coco', 'eager'), ('ssdlite_ghostnetv2_coco', 'fused'),
        ('ssdlite_mobilenetv2-scratch_8xb24-600e_coco', 'eager')}
    assert all(r['latency_ms'] > 0 and r['input_size'] == [320, 320] for r in det)

    train = {r['model']: r for r in records if r['task'] == 'train'}
    assert set(train) == {'ghostnet-0.5x_in1k', 'timm:ghostnet_050'}
    for record in train.values():
        assert 'error' not in record, record
        assert record['images_per_s'] > 0 and record['peak_rss_mb'] >= record['train_memory_mb'] > 0


@pytest.mark.slow
def test_quick_run_files(quick_run):
    payload, out_dir = quick_run
    stamp = osp.join(out_dir, payload['meta']['timestamp'])
    assert osp.getsize(f'{stamp}.png') > 1000
    with open(f'{stamp}.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with open(f'{stamp}.md') as f:
        report = f.read()
    row = next(line for line in report.splitlines() if line.startswith('| GhostNet | ghostnet-0.5x_in1k'))
    cells = [cell.strip() for cell in row.strip('|').split('|')]
    eager = next(r for r in payload['results'] if r['model'] == 'ghostnet-0.5x_in1k' and r['mode'] == 'eager')
    assert cells[9] == 'timm:ghostnet_050 (twin)'
    assert cells[12].split()[0] == f"{eager['ratio']:.2f}"
    assert '## Detectors and segmentors' in report and '## Training step' in report
    assert payload['meta']['command'] in report


@pytest.mark.slow
def test_model_zoo_reads_latest(load_tool, quick_run):
    payload, out_dir = quick_run
    latency = load_tool('tools/analysis/model_zoo.py').load_latency(osp.join(out_dir, 'latest.json'))
    eager = next(r for r in payload['results'] if r['model'] == 'ghostnet-0.5x_in1k' and r['mode'] == 'eager')
    assert latency['configs/cls/ghostnet-0.5x_in1k.py'] == eager['latency_ms']  # eager, batch 1
    assert 'configs/det/ssdlite_ghostnetv2_coco.py' in latency
