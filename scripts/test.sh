#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: installs dependencies, builds, and runs
# the whole test suite, then again under AddressSanitizer + UndefinedBehaviorSanitizer.
#   scripts/test.sh            # both passes
#   scripts/test.sh --quick    # the plain build only
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install-deps.sh" --with-test-tools

run_suite() {
  local build="$1"; shift
  echo "=== build $build ($*)"
  "$ROOT/scripts/build.sh" "$build" "$@"
  echo "=== tests in $build"
  (cd "$build" && ctest --output-on-failure --timeout 300 -j 2)
}

run_suite "$ROOT/build"
if [[ "${1:-}" != "--quick" ]]; then
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  run_suite "$ROOT/build-asan" -DPP_SANITIZE=ON
fi
echo "=== all test suites passed"
