"""The converters' "already done" stamp: DST/.done holds the arguments of the conversion that wrote DST, so a
second run with the same arguments does nothing and a run with others converts again."""
import os.path as osp

STAMP_NAME = '.done'


def is_converted(dst: str, stamp: str) -> bool:
    """True when ``dst`` was written by a finished conversion with arguments ``stamp``."""
    path = osp.join(dst, STAMP_NAME)
    if not osp.isfile(path):
        return False
    with open(path) as f:
        return f.read() == stamp


def mark_converted(dst: str, stamp: str) -> None:
    """Written last, so a conversion stopped half-way is redone by the next run."""
    with open(osp.join(dst, STAMP_NAME), 'w') as f:
        f.write(stamp)
