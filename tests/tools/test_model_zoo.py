"""tools/analysis/model_zoo.py and the metafiles: every config listed once, tables generated from them."""
import glob
import json
import os.path as osp
import shutil

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GHOSTNET = osp.join(ROOT, 'configs', 'cls', 'ghostnet-0.5x_in1k.py')


@pytest.fixture(scope='module')
def model_zoo(load_tool):
    return load_tool('tools/analysis/model_zoo.py')


@pytest.fixture(scope='module')
def models(model_zoo):
    return model_zoo.load_models()[1]


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


def test_write_fails_without_markers_before_writing(model_zoo, tmp_path):
    target = tmp_path / 'README.md'
    text = f'# title\n{model_zoo.START_MARKER}\n{model_zoo.END_MARKER}\nno dense markers here\n'
    target.write_text(text)
    with pytest.raises(SystemExit, match='model-zoo-dense:start'):
        model_zoo.main(['--write', str(target)])
    assert target.read_text() == text


# -- the metafiles --------------------------------------------------------------------------------------------
def test_metafiles_list_every_config_exactly_once(models):
    """Every config under configs/cls, det and seg is one model of one metafile; each listed config exists."""
    listed = [osp.normpath(model['Config']) for model in models]
    on_disk = sorted(osp.relpath(path, ROOT) for task in ('cls', 'det', 'seg')
                     for path in glob.glob(osp.join(ROOT, 'configs', task, '*.py')))
    assert sorted(set(listed)) == on_disk
    assert len(listed) == len(set(listed)), [c for c in set(listed) if listed.count(c) > 1]
    for model in models:
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]


def test_metafiles_follow_the_openmmlab_schema(model_zoo, models):
    collections, _ = model_zoo.load_models()
    for collection in collections.values():
        assert collection['Paper']['Title'] and collection['Paper']['URL'].startswith('https://')
    for model in models:
        assert model['In Collection'] in collections, model['Name']
        assert {'Parameters', 'FLOPs', 'Architecture'} <= set(model['Metadata']), model['Name']
        assert model_zoo.task_of(model) in ('Image Classification', 'Object Detection', 'Semantic Segmentation')
        for result in model.get('Results') or []:
            assert set(result) == {'Task', 'Dataset', 'Metrics'} and result['Metrics'], model['Name']
            assert model['Paper Figures']['Source'], f"{model['Name']}: a paper figure without its source"


def test_index_imports_one_metafile_per_family(model_zoo):
    paths = model_zoo.metafile_paths()
    assert len(paths) == len(set(paths)) == len(glob.glob(osp.join(ROOT, 'configs', 'metafiles', '*.yml')))


def test_pretrained_source_is_the_configs_own(models):
    """``Metadata.Pretrained`` of a det/seg model is what its config's backbone loads (none: -scratch)."""
    from mmengine.config import Config
    for model in models:
        if model['Config'].startswith('configs/cls/'):
            continue
        backbone = Config.fromfile(osp.join(ROOT, model['Config'])).model.backbone
        init_cfgs = []
        for init_cfg in (backbone.get('init_cfg'), (backbone.get('backbone') or {}).get('init_cfg')):
            init_cfgs += init_cfg if isinstance(init_cfg, list) else [init_cfg]  # a list: several initialisers
        checkpoints = [c['checkpoint'] for c in init_cfgs if isinstance(c, dict) and c.get('type') == 'Pretrained']
        assert model['Metadata'].get('Pretrained') == (checkpoints[0] if checkpoints else None), model['Name']


def test_classifier_weights_name_the_timm_tag(models):
    for model in models:
        if 'Weights' in model:
            assert model['Weights'].startswith('https://huggingface.co/timm/'), model['Name']
            assert model['Converted From']['Code'].startswith('https://github.com/'), model['Name']


@pytest.fixture
def index(tmp_path):
    """A copy of model-index.yml and the metafiles, for tests that store figures."""
    (tmp_path / 'configs').mkdir()
    shutil.copytree(osp.join(ROOT, 'configs', 'metafiles'), tmp_path / 'configs' / 'metafiles')
    shutil.copy(osp.join(ROOT, 'model-index.yml'), tmp_path / 'model-index.yml')
    return str(tmp_path / 'model-index.yml')


def others(model_zoo, index, name):
    """Every model of ``index`` but ``name``, as loaded."""
    return [{k: v for k, v in m.items() if k != '_metafile'} for m in model_zoo.load_models(index)[1]
            if m['Name'] != name]


def test_stored_counts_are_the_tools(model_zoo, index, tmp_path):
    """A metafile's Parameters / FLOPs / Input Size are what --measure counts (here for GhostNet 0.5x)."""
    before = next(m for m in model_zoo.load_models(index)[1] if m['Name'] == 'ghostnet-0.5x_in1k')
    latency = tmp_path / 'latest.json'
    latency.write_text(json.dumps({'results': [{'config': 'ghostnet-0.5x_in1k', 'latency_ms': 3.254}]}))
    model_zoo.main(['--measure', '--configs', GHOSTNET, '--index', index, '--latency', str(latency)])
    after = next(m for m in model_zoo.load_models(index)[1] if m['Name'] == 'ghostnet-0.5x_in1k')
    for key in ('Parameters', 'FLOPs', 'Input Size'):
        assert after['Metadata'][key] == before['Metadata'][key], key
    assert after['Metadata']['CPU Latency (ms)'] == 3.25
    assert abs(after['Metadata']['Parameters'] / 1e6 - 2.6) < 0.05  # GhostNet paper: 2.6M params
    assert abs(after['Metadata']['FLOPs'] / 1e6 - 42) < 0.84  # and 42M MACs (2 %)
    name = 'ghostnet-0.5x_in1k'
    assert others(model_zoo, index, name) == others(model_zoo, model_zoo.MODEL_INDEX, name)  # left as they were


def test_int8_figures_replace_the_stored_ones(model_zoo, index, tmp_path):
    """--int8 stores a demo config's figures on its ImageNet config; a later run without a trained checkpoint
    removes the top-1 figures of the earlier one instead of leaving them beside its new latency ratio."""
    def bench(name, **record):
        latency = [dict(label=label, threads=1, batch=1, median_ms=ms) for label, ms in (('fp32', 4.0), ('int8', 3.0))]
        path = tmp_path / name
        path.write_text(json.dumps({'results': [dict(config='configs/demo/ghostnet-1.0x_shapes.py',
                                                     latency=latency, **record)]}))
        return str(path)

    def metadata():
        return next(m for m in model_zoo.load_models(index)[1] if m['Name'] == 'ghostnet-1.0x_in1k')['Metadata']

    trained = bench('trained.json', checkpoint='demo.pth',
                    metrics={'fp32': {'accuracy/top1': 91.04}, 'int8': {'accuracy/top1': 90.46}})
    assert model_zoo.store_int8([trained], index) == ['configs/cls/ghostnet-1.0x_in1k.py']
    assert {k: metadata()[k] for k in model_zoo.INT8_KEYS} == dict(zip(model_zoo.INT8_KEYS, (0.75, 91.0, 90.5)))
    model_zoo.store_int8([bench('untrained.json')], index)
    assert [k for k in model_zoo.INT8_KEYS if k in metadata()] == ['ORT int8/fp32 Latency']
    name = 'ghostnet-1.0x_in1k'
    assert others(model_zoo, index, name) == others(model_zoo, model_zoo.MODEL_INDEX, name)


def test_measure_refuses_a_config_no_metafile_lists(model_zoo, tmp_path):
    stray = tmp_path / 'stray.py'
    stray.write_text('')
    with pytest.raises(ValueError, match='not in any metafile'):
        model_zoo.store_measurements([str(stray)])


# -- the tables -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('path', ['README.md', 'docs/model_zoo.md'])
def test_generated_tables_equal_the_files(model_zoo, models, path):
    """README.md and docs/model_zoo.md carry exactly what the metafiles generate (one place)."""
    text = open(osp.join(ROOT, path)).read()
    assert model_zoo.render(text, models, osp.dirname(osp.join(ROOT, path))) == text, \
        f'{path} is stale: python tools/analysis/model_zoo.py --write {path}'


def test_classification_row(model_zoo, models):
    table = model_zoo.make_table(models)
    row = next(line for line in table.splitlines() if line.startswith('| GhostNet 0.5x'))
    cells = [cell.strip() for cell in row.strip('|').split('|')]
    assert cells[1] == '[ghostnet-0.5x_in1k](configs/cls/ghostnet-0.5x_in1k.py)'
    assert cells[2] == '224x224'
    assert cells[5:7] == ['2.6', '42M']
    assert 'Paper figures: ' in table and 'GhostNet (Han et al., CVPR 2020)' in table


def test_unpublished_model_has_a_name_and_no_paper_figures(model_zoo):
    model = dict(Config='configs/cls/dy-mobilenetv3-large_in1k.py', Name='dy-mobilenetv3-large_in1k',
                 Metadata={'Architecture': 'DY-MobileNetV3-Large', 'Task': 'Image Classification',
                           'Input Size': '224x224', 'Parameters': 11.43e6, 'FLOPs': 224.0e6})
    table = model_zoo.make_table([model])
    assert '| DY-MobileNetV3-Large |' in table and '| 224.0M | - | - | - |' in table
    assert 'Paper figures' not in table


def test_dense_rows_show_weights_and_cited_figures(model_zoo, models):
    table = model_zoo.make_dense_table(models)
    lines = table.splitlines()
    retinanet = next(line for line in lines if '[retinanet_ghostnet_fpn_coco]' in line)
    assert '`timm://ghostnet_100.in1k`' in retinanet and '26.6 box AP (GhostNet 1.1x' in retinanet
    scratch = next(line for line in lines if '[ssdlite_ghostnetv2-scratch_coco]' in line)
    assert '| random weights |' in scratch and scratch.endswith('| - |')
    voc = next(line for line in lines if '[deeplabv3_mobilevit-s_voc12aug]' in line)
    number = voc.rsplit('[', 1)[1].split(']')[0]
    assert '79.1 mIoU' in voc and any(line.startswith(f'- [{number}] Mehta & Rastegari') for line in lines)


def test_latency_formats(model_zoo, tmp_path):
    assert model_zoo.load_latency(str(tmp_path / 'missing.json')) == {}
    path = tmp_path / 'latest.json'
    path.write_text(json.dumps({'a': 1.5, 'b': {'latency_ms': 2}, 'c': {'other': 1}}))
    assert model_zoo.load_latency(str(path)) == {'a': 1.5, 'b': 2.0}


def test_model_index_is_yaml_mim_can_read():
    data = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    metafiles = sorted(osp.relpath(path, ROOT) for path in glob.glob(osp.join(ROOT, 'configs/metafiles/*.yml')))
    assert metafiles and sorted(data['Import']) == metafiles  # every metafile imported once, none missing
