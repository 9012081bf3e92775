"""lwmm/datasets/stamp.py: a conversion counts as done only with the same arguments and only once finished."""
from lwmm.datasets.stamp import is_converted, mark_converted


def test_stamp_matches_only_the_same_arguments(tmp_path):
    assert not is_converted(str(tmp_path), 'tile=400')  # nothing written yet (or a conversion stopped half-way)
    mark_converted(str(tmp_path), 'tile=400')
    assert is_converted(str(tmp_path), 'tile=400')
    assert not is_converted(str(tmp_path), 'tile=320')
    assert not is_converted(str(tmp_path / 'elsewhere'), 'tile=400')
