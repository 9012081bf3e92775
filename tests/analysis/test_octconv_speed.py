"""lwmm.analysis.octconv_speed: the operator census, the before/after benchmark and its tables."""
import pytest
import torch
import torch.nn as nn

from lwmm.analysis import octconv_speed
from lwmm.analysis.octconv_speed import benchmark, build_classifier, conv_seconds, markdown, op_census
from lwmm.models.layers.octave_conv import OctaveConv2d


def expected_convs(model: nn.Module) -> int:
    """Conv calls of a merged forward, from each octave layer's kind (see OctaveConv2d._forward_merged)."""
    calls = 0
    for module in model.modules():
        if isinstance(module, OctaveConv2d):
            if module.is_vanilla:
                calls += 1
            elif module.in_l == 0 or module.groups > 1:
                calls += len(module.paths())
            elif module.out_l == 0:
                calls += 1 if module.stride == 2 else 2
            else:
                calls += 2 if module.stride == 2 else 3
        elif type(module) is nn.Conv2d and not any(module is p for m in model.modules()
                                                   if isinstance(m, OctaveConv2d) for p in m.paths()):
            calls += 1
    return calls


def test_census_counts_conv_calls_before_and_after_merging():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 64, 64)
    merged = build_classifier(26, 0.5)
    paths = build_classifier(26, 0.5, merge_paths=False)
    census_paths, census_merged = op_census(paths, x), op_census(merged, x)
    # separate paths: one call per nn.Conv2d of the network
    assert census_paths['conv'] == sum(isinstance(m, nn.Conv2d) for m in paths.modules())
    assert census_merged['conv'] == expected_convs(merged) < census_paths['conv']
    assert census_merged['norm'] == census_paths['norm'] > 0
    assert census_merged['cat'] > 0 == census_paths['cat']
    vanilla = op_census(build_classifier(26, 0.0), x)
    assert vanilla['conv'] == sum(isinstance(m, nn.Conv2d) for m in build_classifier(26, 0.0).modules())
    assert conv_seconds(merged, x, repeats=1) > 0


def test_benchmark_rows_and_tables(monkeypatch):
    monkeypatch.setattr(octconv_speed, 'timm_twin', lambda depth: None)  # keeps the test fast and offline
    logged = []
    result = benchmark(depth=26, alphas=(0.5, ), batch_sizes=(1, 2), size=32, warmup=0, repeats=1,
                       large_batch_repeats=1, onnxruntime=True, log=logged.append)
    rows = result['rows']
    assert [(r['alpha'], r['variant']) for r in rows] == [(0.0, 'reference'), (0.5, 'paths'), (0.5, 'merged')]
    assert rows[1]['macs'] == rows[2]['macs'] < rows[0]['macs']
    assert all(set(r['ms']) == {1, 2} and r['onnx_ms'] > 0 for r in rows)
    assert rows[2]['onnx_convs'] < rows[1]['onnx_convs']
    assert rows[0]['onnx_convs'] == rows[0]['census']['conv']
    assert rows[2]['census']['conv'] < rows[1]['census']['conv']
    assert len(logged) == 3 * 2 + 3
    table = markdown(result)
    base = rows[0]
    assert f"| {base['name']} | 0 | reference | {base['macs'] / 1e9:.3f} | 1.000 | {base['ms'][1]:.1f} | 1.000 |" \
        in table
    ratio = rows[2]['ms'][2] / base['ms'][2]
    assert f"{rows[2]['ms'][2]:.1f} | {ratio:.3f} |" in table
    mac_ratio = rows[2]['macs'] / base['macs']
    assert f"-> {(1 - ratio) / (1 - mac_ratio):.2f}" in table
    assert f"| {rows[2]['census']['conv']} |" in table


def test_cpu_clock_needs_one_thread():
    with pytest.raises(ValueError, match='threads=2'):
        benchmark(depth=26, threads=2, clock='cpu')
