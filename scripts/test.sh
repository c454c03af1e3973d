#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: installs dependencies, builds, and runs
# the whole test suite; then again under AddressSanitizer + UndefinedBehaviorSanitizer;
# then the multi-threaded parts (the client library against real nodes) under
# ThreadSanitizer.
#   scripts/test.sh            # all three passes
#   scripts/test.sh --quick    # the plain build only
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install-deps.sh" --with-test-tools

run_suite() {
  local build="$1" label="$2"; shift 2
  echo "=== build $build $* (at ${SECONDS} s)"
  # Tests on explicitly: a build dir first made by run-example.sh has them off in its cache.
  "$ROOT/scripts/build.sh" "$build" -DPP_BUILD_TESTS=ON "$@"
  echo "=== tests in $build ${label:+(label $label)} (at ${SECONDS} s)"
  (cd "$build" && ctest --output-on-failure --no-tests=error --timeout 300 -j 2 ${label:+-L "$label"})
}

run_suite "$ROOT/build" ""
if [[ "${1:-}" != "--quick" ]]; then
  # Sanitizer builds at -O1 with line tables only: the sanitizers' usual level, and well
  # over twice as fast to compile as -O2 -g (Asio-heavy files take a minute each at -O2).
  light=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG")
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    run_suite "$ROOT/build-asan" "" -DPP_SANITIZE=ON "${light[@]}"
  TSAN_OPTIONS="halt_on_error=1" PP_TARGETS="ppserver integration_test" \
    run_suite "$ROOT/build-tsan" integration -DPP_TSAN=ON "${light[@]}"
fi
if [[ "${1:-}" != "--quick" ]]; then
  # A short libFuzzer run of the decoders of hostile input (docs/FUZZING.md).
  echo "=== fuzzing (at ${SECONDS} s)"
  "$ROOT/scripts/fuzz.sh" --seconds 15
fi
echo "=== all test suites passed in ${SECONDS} s"
