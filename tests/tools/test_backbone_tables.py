"""tools/analysis/backbone_tables.py and lwmm.analysis.backbone_tables: docs/backbones.md equals a regeneration
from the models themselves, the measured channels equal the backbones' own ``out_channels``, and a stale or
unmarked document is caught."""
import os.path as osp

import pytest

from lwmm.analysis.backbone_tables import (OUT_STRIDES, TABLES_END, TABLES_START, VARIANTS, measure_variants,
                                           quote_swaps, render_tables, replace_between, update_doc)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(ROOT, 'docs', 'backbones.md')


@pytest.fixture(scope='module')
def measured():
    return measure_variants()


def test_doc_equals_a_regeneration(measured):
    with open(DOC) as f:
        text = f.read()
    assert update_doc(text, ROOT, measured) == text, (
        'docs/backbones.md is out of date: run python tools/analysis/backbone_tables.py')


@pytest.mark.parametrize('family,label', [('GhostNet', '1.0x'), ('GhostNetV2', '1.6x'), ('MobileViT', 'small'),
                                          ('OctResNet', '50, alpha 0.5'), ('DYMobileNetV2', '0.35x'),
                                          ('DYResNet', '10')])
def test_measured_channels_equal_out_channels(measured, family, label):
    from lwmm.registry import MODELS
    cfg = next(cfg for f, lab, cfg in VARIANTS if (f, lab) == (family, label))
    for out_stride in OUT_STRIDES:
        rows = measured[(family, label)][out_stride]
        backbone = MODELS.build(dict(cfg, type=f"lwmm.{cfg['type']}", out_indices=tuple(range(len(rows))),
                                     out_stride=out_stride))
        assert backbone.out_channels == tuple(channels for _, channels in rows)
        # the last stage reaches exactly the requested output stride
        assert rows[-1][0] == out_stride
        assert [stride for stride, _ in rows] == [min(s, out_stride) for s in backbone.stage_strides]


def test_every_published_variant_is_listed(measured):
    families = {family for family, _ in measured}
    assert families == {'GhostNet', 'GhostNetV2', 'MobileViT', 'OctResNet', 'OctMobileNetV2', 'DYMobileNetV2',
                        'DYMobileNetV3', 'DYResNet'}
    assert sum(family == 'DYMobileNetV2' for family, _ in measured) == 4
    tables = render_tables(measured)
    assert '| 1.0x (`type=\'lwmm.GhostNet\', widen_factor=1.0`) | 32 | /2, 16 ch | /4, 24 ch | /8, 40 ch' in tables


def test_tool_check_catches_a_stale_doc(tmp_path, load_tool, monkeypatch, measured, capsys):
    tool = load_tool('tools/analysis/backbone_tables.py')
    import lwmm.analysis.backbone_tables as module
    monkeypatch.setattr(module, 'measure_variants', lambda *a, **k: measured)
    with open(DOC) as f:
        text = f.read()
    stale = tmp_path / 'backbones.md'
    stale.write_text(text.replace('/32, 960 ch', '/32, 961 ch', 1))
    assert tool.main(['--doc', str(stale), '--check']) == 1
    assert 'out of date' in capsys.readouterr().err
    assert tool.main(['--doc', str(stale)]) == 0
    assert stale.read_text() == text
    assert tool.main(['--doc', str(stale), '--check']) == 0


def test_missing_markers_and_quoted_files_are_named(tmp_path):
    with pytest.raises(ValueError, match='backbone-tables:start'):
        replace_between('no markers here', TABLES_START, TABLES_END, 'x')
    (tmp_path / 'a.py').write_text("x = 1\n")
    doc = '<!-- swap:a.py:start -->\nold\n<!-- swap:a.py:end -->\n'
    assert quote_swaps(doc, str(tmp_path)) == '<!-- swap:a.py:start -->\n```python\nx = 1\n```\n<!-- swap:a.py:end -->\n'
    with pytest.raises(FileNotFoundError, match='b.py'):
        quote_swaps(doc.replace('a.py', 'b.py'), str(tmp_path))


def test_measures_whatever_default_scope_the_process_has():
    """Another codebase's default scope left set (a Runner does that) must not hide lwmm's types."""
    pytest.importorskip('mmpretrain')
    import mmpretrain.models  # noqa: F401  registers mmpretrain's models
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        measured = measure_variants(VARIANTS[:1], (32, ))
    assert set(measured) == {VARIANTS[0][:2]}
