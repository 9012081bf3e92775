"""lwmm: lightweight vision backbones for OpenMMLab 2.0."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r"__version__ = '([^']+)'", (HERE / 'lwmm' / 'version.py').read_text()).group(1)
# one codebase per task, each an extra: `pip install 'lwmm[det]'` for configs/det and lwmm.SSDHead, and so on
TASKS = {
    'cls': ['mmpretrain>=1.2.0,<1.3'],
    'det': ['mmdet>=3.3.0,<3.4'],
    'seg': ['mmsegmentation>=1.2.2,<1.3', 'ftfy', 'regex'],  # mmseg's import needs ftfy and regex
}

setup(
    name='lwmm',
    version=VERSION,
    description='Lightweight vision backbones (GhostNet, GhostNetV2, MobileViT, OctConv, DynamicConv) '
    'for OpenMMLab 2.0: mmpretrain, mmdet and mmsegmentation',
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['lwmm', 'lwmm.*']),
    python_requires='>=3.9',
    # Tested only with the stack tools/setup_env.sh and requirements.txt pin (README, "Environment"): torch
    # 2.14.1, mmengine 0.10.7, mmcv 2.1.0, mmdet 3.3.0, mmsegmentation 1.2.2, mmpretrain 1.2.0, numpy 1.26.
    # The lower bounds below are what the code needs (torch.compiler.is_compiling: torch 2.3), not tested.
    install_requires=[
        'torch>=2.3',
        'torchvision',
        'mmengine>=0.10.0,<1.0',
        'mmcv>=2.0.0,<2.2.0',  # mmdet 3.3 and mmseg 1.2 refuse mmcv >= 2.2
        'numpy<2',  # the OpenMMLab 2.0 releases predate numpy 2
        'setuptools>=77,<82',  # mmengine's `mmdet::` base-config lookup imports pkg_resources, gone in 82
    ],
    extras_require={
        **TASKS,
        'all': [requirement for requirements in TASKS.values() for requirement in requirements],
        'reference': ['timm'],
        'deploy': ['onnx', 'onnxruntime', 'torch>=2.5'],  # torch.onnx.export(dynamo=False)
        'tests': ['pytest', 'hypothesis'],
    },
    license='Apache-2.0',
)
