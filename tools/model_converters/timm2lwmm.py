"""Convert a timm checkpoint into an lwmm classifier checkpoint.

    python tools/model_converters/timm2lwmm.py --model ghostnetv2_100 SRC DST

SRC is a timm state dict (``.pth``/``.bin`` saved with torch.save, or ``.safetensors``; a dict with a
``state_dict`` or ``model`` entry works too). DST is an mmengine checkpoint of the matching lwmm
``ImageClassifier`` (the config is printed), loadable with ``load_from=DST`` or
``load_checkpoint(model, DST, strict=True)``, and as a detector/segmentor backbone with
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``. The tool loads the converted
weights into the config's model with ``strict=True`` before writing, so a written file always loads.
"""
import argparse
import os
import os.path as osp
import sys

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def read_state_dict(path: str) -> dict:
    if not osp.isfile(path):
        raise FileNotFoundError(f'SRC {path!r} does not exist.')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    try:
        checkpoint = torch.load(path, map_location='cpu')
    except Exception as error:  # a truncated or foreign file: say which file and what torch said
        raise ValueError(f'SRC {path!r} is not a readable torch checkpoint ({type(error).__name__}: '
                         f'{str(error).splitlines()[0]}).') from None
    for key in ('state_dict', 'model', 'state_dict_ema'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise ValueError(f'SRC {path!r} holds no state dict of tensors.')
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in checkpoint.items()}


def build_classifier(config_path: str):
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(config_path)
    init_default_scope(cfg.default_scope)
    return MODELS.build(cfg.model)


def convert(model_name: str, src: str, dst: str) -> str:
    """Convert ``src`` (timm ``model_name``) to ``dst``; returns the lwmm config the weights belong to."""
    import lwmm  # noqa: F401
    from lwmm.converters import convert_timm, timm_config
    config_path = osp.join(ROOT, 'configs', timm_config(model_name))
    state_dict = convert_timm(model_name, read_state_dict(src))
    model = build_classifier(config_path)
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
