#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: installs dependencies, builds, and runs
# the Monte Carlo pi demo on an embedded local cluster (no configuration at all).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh" "$ROOT/build" -DPP_BUILD_TESTS=OFF
exec "$ROOT/build/bin/ppclient" run "$ROOT/examples/pi.lua" "$@"
