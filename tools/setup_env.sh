#!/usr/bin/env bash
# Builds the project's virtual environment (.venv) on a fresh machine; a fast no-op once it is complete.
#
# The pinned stack and why:
# - torch 2.14.1 + torchvision 0.29.1: the pair pip takes from this machine's disk.
# - mmcv 2.1.0 (mmdet 3.3 and mmseg 1.2 refuse >= 2.2) has no wheel for this torch: it is built from its
#   sdist with ops, without build isolation, its setup.py switched from -std=c++17 to -std=c++20 (torch
#   2.14's headers need C++20). The wheel is cached outside the clone, keyed by torch and Python version,
#   so another clone on this machine (CI's) reuses it; pip's own cache is never used for it.
# - setuptools >=77,<82: torch asks for >=77; mmcv's build and mmengine's `mmdet::` base-config lookup
#   import pkg_resources, which setuptools 82 removed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=$(realpath -m "${LWMM_VENV:-.venv}")
PY=${PYTHON:-python3}
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
STAMP="$VENV/.lwmm-env-$(sha1sum tools/setup_env.sh setup.py requirements.txt | sha1sum | cut -c1-12)"

if [ -f "$STAMP" ]; then
  exit 0
fi

log() { echo "[setup_env] $*"; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
PIP=("$VPY" -m pip --disable-pip-version-check)

log "base tools and torch $TORCH_VERSION"
"${PIP[@]}" install -q "setuptools>=77,<82" wheel "pip>=23"
"${PIP[@]}" install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" \
  "numpy<2" "opencv-python<4.12" "ninja" "psutil"
"${PIP[@]}" install -q "mmengine==0.10.7"

PYTAG=$("$VPY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
CACHE_ROOT=${LWMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lwmm}
MMCV_CACHE="$CACHE_ROOT/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$PYTAG"
mkdir -p "$MMCV_CACHE"

if ! "$VPY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
  WHEEL=$(ls "$MMCV_CACHE"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$WHEEL" ]; then
    log "building mmcv $MMCV_VERSION with ops against torch $TORCH_VERSION (about 16 minutes on 2 cores)"
    BUILD=$(mktemp -d)
    "${PIP[@]}" download -q --no-deps --no-binary :all: --no-cache-dir "mmcv==$MMCV_VERSION" -d "$BUILD"
    tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
    sed -i 's/-std=c++17/-std=c++20/g' "$BUILD/mmcv-$MMCV_VERSION/setup.py"
    (cd "$BUILD/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      "${PIP[@]}" wheel -q --no-build-isolation --no-deps --no-cache-dir . -w "$BUILD/dist")
    cp "$BUILD"/dist/mmcv-*.whl "$MMCV_CACHE/"
    rm -rf "$BUILD"
    WHEEL=$(ls "$MMCV_CACHE"/mmcv-$MMCV_VERSION-*.whl | head -n1)
  fi
  log "installing $WHEEL"
  "${PIP[@]}" install -q --no-cache-dir --no-deps --force-reinstall "$WHEEL"
fi

log "OpenMMLab codebases and the rest"
"${PIP[@]}" install -q -r requirements.txt
"${PIP[@]}" install -q --no-deps -e .
"$VPY" -c "import mmcv.ops, mmdet, mmseg, mmpretrain, timm, lwmm" 
touch "$STAMP"
log "environment ready: $VENV"
