# mmseg's runtime, with lwmm's modules registered (scope 'lwmm') for every config that inherits it.
_base_ = 'mmseg::_base_/default_runtime.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
