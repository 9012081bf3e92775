"""tools/analysis/model_zoo.py: the table, the marker replacement and the latency file."""
import json
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GHOSTNET = osp.join(ROOT, 'configs', 'cls', 'ghostnet-0.5x_in1k.py')


@pytest.fixture(scope='module')
def model_zoo(load_tool):
    return load_tool('tools/analysis/model_zoo.py')


def test_replace_between_markers(model_zoo):
    text = f'head\n{model_zoo.START_MARKER}\nold table\n{model_zoo.END_MARKER}\ntail\n'
    new = model_zoo.replace_between_markers(text, '| new |')
    assert new == f'head\n{model_zoo.START_MARKER}\n| new |\n{model_zoo.END_MARKER}\ntail\n'
    assert model_zoo.replace_between_markers(new, '| new |') == new


@pytest.mark.parametrize('text', ['no markers', '<!-- model-zoo:start -->\nonly start',
                                  '<!-- model-zoo:end -->\n<!-- model-zoo:start -->'])
def test_bad_markers(model_zoo, text):
    with pytest.raises(ValueError, match='model-zoo'):
        model_zoo.replace_between_markers(text, '| x |')


def test_write_fails_without_markers_before_counting(model_zoo, tmp_path):
    target = tmp_path / 'README.md'
    target.write_text('# title\nno markers here\n')
    with pytest.raises(SystemExit, match='marker'):
        model_zoo.main(['--configs', GHOSTNET, '--write', str(target)])
    assert target.read_text() == '# title\nno markers here\n'


def test_write_table_with_latency(model_zoo, tmp_path):
    target = tmp_path / 'README.md'
    target.write_text(f'# title\n{model_zoo.START_MARKER}\nold\n{model_zoo.END_MARKER}\nrest\n')
    latency = tmp_path / 'latest.json'
    latency.write_text(json.dumps({'results': [{'config': 'ghostnet-0.5x_in1k', 'latency_ms': 3.25}]}))
    model_zoo.main(['--configs', GHOSTNET, '--write', str(target), '--latency', str(latency)])
    text = target.read_text()
    assert text.startswith(f'# title\n{model_zoo.START_MARKER}\n') and text.endswith(f'{model_zoo.END_MARKER}\nrest\n')
    assert 'old' not in text
    row = next(line for line in text.splitlines() if line.startswith('| GhostNet 0.5x'))
    cells = [cell.strip() for cell in row.strip('|').split('|')]
    link = cells[1].split('](')[1].rstrip(')')
    assert osp.normpath(osp.join(tmp_path, link)) == GHOSTNET
    assert cells[2] == '224x224'
    assert abs(float(cells[3]) - 2.6) < 0.05  # GhostNet paper: 2.6M params
    assert cells[4].endswith('M') and abs(float(cells[4][:-1]) - 42) < 0.84  # and 42M MACs (2 %)
    assert cells[5:] == ['2.6', '42M', '3.25']


def test_latency_formats(model_zoo, tmp_path):
    assert model_zoo.load_latency(str(tmp_path / 'missing.json')) == {}
    path = tmp_path / 'latest.json'
    path.write_text(json.dumps({'a': 1.5, 'b': {'latency_ms': 2}, 'c': {'other': 1}}))
    assert model_zoo.load_latency(str(path)) == {'a': 1.5, 'b': 2.0}


def test_published_rows_name_existing_configs(model_zoo):
    for stem in model_zoo.PUBLISHED:
        assert osp.isfile(osp.join(ROOT, 'configs', 'cls', f'{stem}.py')), stem


def test_unpublished_model_has_a_name_and_no_paper_figures(model_zoo):
    row = ('configs/cls/dy-mobilenetv3-large_in1k.py', dict(input_shape=(1, 3, 224, 224), params=11.4e6, macs=224e6))
    table = model_zoo.make_table([row])
    assert '| DY-MobileNetV3-Large |' in table and '| 224.0M | - | - | - |' in table
    assert 'Paper figures' not in table


def test_readme_and_docs_tables_agree():
    """README.md and docs/model_zoo.md carry the same generated table (docs/ once kept a stale one)."""

    def table(path, link_prefix):
        text = open(osp.join(ROOT, path)).read()
        body = text.split('<!-- model-zoo:start -->')[1].split('<!-- model-zoo:end -->')[0]
        return body.replace(f']({link_prefix}configs/', '](configs/').strip()

    assert table('README.md', '') == table('docs/model_zoo.md', '../')
