#!/usr/bin/env bash
# What no CPU test covers, on one CUDA GPU, as one command: bash tools/gpu_check.sh 2>&1 | tee gpu_check.log
# 1. tests/gpu (backbones and DynamicConv2d / OctaveConv2d on CUDA against the CPU, float16 AMP steps,
#    a one-GPU NCCL process group with a DDP + SyncBN step, CUDA generator state through a checkpoint);
# 2. `tools/train.py --amp` for a few iterations of each task's shapes demo (needs mmcv built with CUDA ops);
# 3. batch-1 and batch-32 latency of lwmm classifiers against timm on the GPU (CUDA events, alternating).
# Record the output in docs/gpu_check.md with the date and the GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export OMP_WAIT_POLICY=PASSIVE
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_check: no CUDA device here')" || exit 1
"$PY" -c "import torch; print('gpu_check:', torch.cuda.get_device_name(0), 'torch', torch.__version__)"
status=0

echo "== 1. tests/gpu"
"$PY" -m pytest tests/gpu -q -rA -p no:cacheprovider || status=1

echo "== 2. --amp training steps per task"
if "$PY" -c "import mmcv.ops" 2>/dev/null; then
  [ -f data/shapes/.done ] || { "$PY" tools/make_shapes.py --root data/shapes && touch data/shapes/.done; }
  for run in "configs/demo/ghostnet-1.0x_shapes.py train_cfg.max_epochs=1" \
             "configs/demo/ssdlite_ghostnetv2_shapes.py train_cfg.max_epochs=1" \
             "configs/demo/deeplabv3_ghostnetv2_shapes.py train_cfg.max_iters=20 train_cfg.val_interval=20"; do
    set -- $run
    cfg=$1; shift
    echo "-- $cfg --amp"
    "$PY" tools/train.py "$cfg" --amp --work-dir "work_dirs/gpu_check/$(basename "$cfg" .py)" \
      --cfg-options "$@" 2>&1 | grep -E "AmpOptimWrapper|Epoch\(val\)|Iter\(val\)|Error|error" | tail -4 \
      || status=1
  done
else
  echo "skipped: mmcv.ops is not built here (tools/setup_env.sh builds it; mmdet and mmseg need it)"
fi

echo "== 3. latency against timm on the GPU"
"$PY" - <<'PYEOF' || status=1
import torch, timm
from mmengine.config import Config
from mmpretrain.registry import MODELS
import lwmm  # noqa: F401

PAIRS = [('cls/ghostnet-1.0x_in1k.py', 'ghostnet_100', 224), ('cls/ghostnetv2-1.0x_in1k.py', 'ghostnetv2_100', 224),
         ('cls/mobilevit-xxs_in1k.py', 'mobilevit_xxs', 256), ('cls/mobilevit-s_in1k.py', 'mobilevit_s', 256)]

def time_ms(model, x, repeats=50):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        model(x)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / repeats

print('| lwmm config | timm | batch | lwmm ms | timm ms | ratio |')
print('|---|---|---|---|---|---|')
for config, timm_name, size in PAIRS:
    ours = MODELS.build(Config.fromfile(f'configs/{config}').model).cuda().eval()
    theirs = timm.create_model(timm_name, pretrained=False).cuda().eval()
    run_ours = lambda x: ours(x, mode='tensor')
    for batch in (1, 32):
        x = torch.randn(batch, 3, size, size, device='cuda')
        with torch.no_grad():
            for fn in (run_ours, theirs):
                time_ms(fn, x, 10)
            pairs = [(time_ms(run_ours, x), time_ms(theirs, x)) for _ in range(5)]  # alternating
        a = sorted(p[0] for p in pairs)[2]
        b = sorted(p[1] for p in pairs)[2]
        print(f'| {config} | {timm_name} | {batch} | {a:.3f} | {b:.3f} | {a / b:.3f} |')
PYEOF
echo "gpu_check: $([ $status = 0 ] && echo passed || echo FAILED)"
exit $status
