#!/usr/bin/env bash
# Configures and builds ppcluster:
#   scripts/build.sh [BUILD_DIR] [extra cmake options...]
# $PP_TARGETS (space-separated) limits the build to those targets.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
shift || true
. "$ROOT/scripts/ccache.sh"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${PP_LAUNCHER[@]}" "$@" \
  >/dev/null
targets=()
for t in ${PP_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$BUILD" -j "$(nproc)" "${targets[@]}"
