"""Convert a timm checkpoint into an lwmm classifier checkpoint.

    python tools/model_converters/timm2lwmm.py --model ghostnetv2_100 SRC DST

SRC is a timm state dict (``.pth``/``.bin`` saved with torch.save, or ``.safetensors``; a dict with a
``state_dict`` or ``model`` entry works too), or the authors' release of the same model (Huawei's
GhostNet / GhostNetV2, ml-cvnets' MobileViT). DST is an mmengine checkpoint of the matching lwmm
``ImageClassifier`` (the config is printed), loadable with ``load_from=DST`` or
``load_checkpoint(model, DST, strict=True)``, and as a detector/segmentor backbone with
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``. The tool loads the converted
weights into the config's model with ``strict=True`` before writing, so a written file always loads.
The key maps are lwmm.converters' (the same ones the ``timm://`` checkpoint scheme uses); for weights
that only start a backbone (timm resnet50 for Oct-ResNet-50, mobilenetv3_small_100 for
DY-MobileNetV3-Small) use ``timm://`` or the timm file itself in the backbone's ``init_cfg``.
"""
import argparse
import os
import os.path as osp
import sys

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def convert(model_name: str, src: str, dst: str) -> str:
    """Convert ``src`` (timm ``model_name``) to ``dst``; returns the lwmm config the weights belong to."""
    from lwmm.analysis.config_models import build_model_from_config
    from lwmm.converters import convert_timm, read_state_dict, timm_config
    from lwmm.converters.official import to_timm
    config = timm_config(model_name)
    if config is None:
        raise ValueError(f'--model {model_name!r}: no lwmm classifier takes these weights whole (they start a '
                         f'backbone only); name the file or timm://{model_name} in the backbone\'s init_cfg '
                         f'(docs/pretrained.md).')
    config_path = osp.join(ROOT, 'configs', config)
    if not osp.isfile(src):
        raise FileNotFoundError(f'SRC {src!r} does not exist.')
    state_dict = convert_timm(model_name, to_timm(read_state_dict(src)))
    model = build_model_from_config(config_path)
    model.load_state_dict(state_dict, strict=True)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(meta=dict(converted_from=f'timm/{model_name}', config=osp.relpath(config_path, ROOT)),
                    state_dict=state_dict), dst)
    return config_path


def main(argv=None):
    from lwmm.converters import available_timm_models
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', required=True, help=f'timm model name: {", ".join(available_timm_models())}')
    parser.add_argument('src', help='timm checkpoint')
    parser.add_argument('dst', help='lwmm checkpoint to write')
    args = parser.parse_args(argv)
    config_path = convert(args.model, args.src, args.dst)
    print(f'wrote {args.dst}: weights of {osp.relpath(config_path, ROOT)}')


if __name__ == '__main__':
    sys.path.insert(0, ROOT)
    main()
