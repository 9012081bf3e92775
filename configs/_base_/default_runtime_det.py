# mmdet's runtime, with lwmm's modules registered (scope 'lwmm') for every config that inherits it.
_base_ = 'mmdet::_base_/default_runtime.py'
custom_imports = dict(imports=['lwmm'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
