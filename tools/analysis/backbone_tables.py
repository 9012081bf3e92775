"""Regenerate docs/backbones.md's generated parts: the per-family stage tables and the quoted swap configs.

    python tools/analysis/backbone_tables.py            # rewrite docs/backbones.md in place
    python tools/analysis/backbone_tables.py --check    # exit 1 if docs/backbones.md is out of date
    python tools/analysis/backbone_tables.py --print    # print the stage tables only

The tables (between ``<!-- backbone-tables:start -->`` and ``<!-- backbone-tables:end -->``) come from
building each published width / arch at out_stride 32, 16 and 8 and running a dummy image through it
(lwmm.analysis.backbone_tables); each ``<!-- swap:<path>:start -->`` block is replaced by that file.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--doc', default=osp.join(ROOT, 'docs', 'backbones.md'), help='the document to update')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--check', action='store_true', help='fail if the document differs from a regeneration')
    mode.add_argument('--print', action='store_true', help='print the stage tables, write nothing')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from lwmm.analysis.backbone_tables import measure_variants, render_tables, update_doc
    if args.print:
        print(render_tables(measure_variants()), end='')
        return 0
    with open(args.doc) as f:
        text = f.read()
    updated = update_doc(text, ROOT)
    if args.check:
        if updated != text:
            print(f'{args.doc} is out of date: run python tools/analysis/backbone_tables.py', file=sys.stderr)
            return 1
        print(f'{args.doc} is up to date')
        return 0
    if updated != text:
        with open(args.doc, 'w') as f:
            f.write(updated)
    print(f'{args.doc}: {"updated" if updated != text else "already up to date"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
