"""Parameters and multiply-adds of the model of a config, counted as the mobile-network papers count them.

    python tools/analysis/get_flops.py configs/cls/ghostnet-1.0x_in1k.py
    python tools/analysis/get_flops.py configs/det/ssdlite_ghostnet_coco.py --shape 320
    python tools/analysis/get_flops.py configs/seg/deeplabv3_ghostnetv2_ade20k.py --by-module --depth 2

Works for any config under configs/: an mmpretrain classifier, an mmdet detector or an mmseg segmentor (chosen
by the config's ``default_scope``). The model runs in ``mode='tensor'`` on one (1, 3, H, W) tensor (random
weights, SyncBN reverted to BN; a two-stage detector also gets one data sample per image, which its RPN reads
the image size from, and its RoI head is counted for the proposals the RPN keeps); the count is
:func:`lwmm.analysis.config_complexity`: one multiply-add per weight use of convolutions and linear layers
plus attention's matrix products; element-wise operations are left out and listed. Default input: the config's
test crop for classifiers (224, or 256 for MobileViT), the test ``Resize`` scale for detectors (320x320 for
SSDLite, 800x1333 for RetinaNet) and the crop size (512x512) for segmentors. A model whose trace fails is
counted part by part (backbone, neck, heads...), and each part that cannot be traced gets one ``not traced``
line with the reason.
"""
import argparse
import os
import os.path as osp
import sys

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

TASKS = {'mmpretrain': 'classifier', 'mmdet': 'detector', 'mmseg': 'segmentor'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Count params and multiply-adds of a config\'s model.')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs='+', metavar='N',
                        help='input size: H W, or one number for a square (default: from the config)')
    parser.add_argument('--by-module', action='store_true', help='also print params and MACs per module')
    parser.add_argument('--depth', type=int, default=2, help='module depth printed with --by-module (default 2)')
    parser.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE', help='override config settings')
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        parser.error(f'--shape takes 1 or 2 numbers (H W), got {len(args.shape)}: {args.shape}')
    if args.shape is not None and min(args.shape) < 1:
        parser.error(f'--shape must be positive, got {args.shape}')
    if args.depth < 0:
        parser.error(f'--depth must be >= 0, got {args.depth}')
    return args


def _table(rows, header):
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = ['  '.join(str(cell).ljust(width) for cell, width in zip(header, widths)).rstrip()]
    lines.append('  '.join('-' * width for width in widths))
    lines += ['  '.join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return '\n'.join(lines)


def format_result(config, result, depth=None):
    """The printed report of :func:`lwmm.analysis.config_complexity`'s result."""
    from lwmm.analysis import format_count
    _, _, height, width = result['input_shape']
    rows = [
        ('config', config),
        ('model', f"{TASKS.get(result['task'], result['task'])} ({type(result['model']).__name__}, "
         f"{result['task']})"),
        ('input shape', f'1x3x{height}x{width}'),
        ('params', f"{format_count(result['params'])} ({result['params']:,})"),
        ('MACs', f"{format_count(result['macs'])} ({result['macs']:,})"),
    ]
    if result['train_only_params']:
        rows.append(('not counted', f"{format_count(result['train_only_params'])} params of training-only "
                     f"heads ({result['train_only_params']:,})"))
    skipped = ', '.join(f'{op.replace("aten::", "")} x{n}' for op, n in sorted(result['skipped'].items()))
    rows.append(('left out', skipped + ' (not counted: element-wise, or no multiply-adds to count, e.g. NMS, '
                 'RoIAlign)' if skipped else 'nothing'))
    for part, kind, reason in result.get('untraced', []):
        rows.append(('not traced', f'{part} ({kind}): {reason}; its MACs are left out, the other parts counted '
                     f'one by one'))
    text = _table([list(row) for row in rows], ['', ''])
    text = '\n'.join(text.splitlines()[2:])
    if depth is not None and 'by_module' in result:
        modules = [(name or '(total)', format_count(params), format_count(macs))
                   for name, (params, macs) in result['by_module'].items()
                   if (name.count('.') + 1 if name else 0) <= depth and (params or macs)]
        text += '\n\n' + _table(modules, ['module', 'params', 'MACs'])
    return text


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.config import Config, DictAction

    from lwmm.analysis import config_complexity
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        options = argparse.Namespace()
        DictAction(option_strings=[], dest='options')(None, options, args.cfg_options)
        cfg.merge_from_dict(options.options)
    shape = None if args.shape is None else tuple(args.shape) * (3 - len(args.shape))
    with torch.no_grad():
        result = config_complexity(cfg, shape, by_module=args.by_module)
    print(format_result(args.config, result, args.depth if args.by_module else None))
    return result


if __name__ == '__main__':
    main()
