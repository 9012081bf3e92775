"""lwmm: lightweight vision backbones for OpenMMLab 2.0."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r"__version__ = '([^']+)'", (HERE / 'lwmm' / 'version.py').read_text()).group(1)

setup(
    name='lwmm',
    version=VERSION,
    description='Lightweight vision backbones (GhostNet, GhostNetV2, MobileViT, OctConv, DynamicConv) '
    'for OpenMMLab 2.0: mmpretrain, mmdet and mmsegmentation',
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['lwmm', 'lwmm.*']),
    python_requires='>=3.9',
    install_requires=[
        'torch>=2.0',
        'torchvision',
        'mmengine>=0.10.0,<1.0',
        'mmcv>=2.0.0,<2.2.0',
        'mmdet>=3.3.0,<3.4',
        'mmsegmentation>=1.2.2,<1.3',
        'mmpretrain>=1.2.0,<1.3',
        'ftfy',
        'regex',
        'pycocotools',
        'numpy',
        'setuptools>=77,<82',
    ],
    extras_require={'reference': ['timm'], 'deploy': ['onnx', 'onnxruntime'], 'tests': ['pytest', 'hypothesis']},
    license='Apache-2.0',
)
