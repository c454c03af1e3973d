#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang with ASan + UBSan) in build-fuzz/ and runs
# each for a while over a fresh copy of its seed corpus; fails on any crash, leak, timeout,
# out-of-memory or broken property. See docs/FUZZING.md.
#   scripts/fuzz.sh [--seconds N] [--target NAME]... [--keep DIR]
#   scripts/fuzz.sh --update-corpus                   # regenerate tests/fuzz/corpus
# Default: 20 s for each harness. --keep DIR keeps each harness's grown corpus in DIR/<target>
# and starts from it next time (the seeds are added again each run); without it every run
# starts from the seeds alone.
# Targets: frame_reader codec beacon lua_convert. $PP_FUZZ_BUILD overrides the build dir.
# The committed corpus is only read; inputs found while fuzzing stay in a temporary copy, and
# anything that failed is kept in $BUILD/fuzz-artifacts/<target>/ with the command to replay it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${PP_FUZZ_BUILD:-$ROOT/build-fuzz}"
ALL_TARGETS=(frame_reader codec beacon lua_convert)

seconds=20
targets=()
update_corpus=""
keep_dir=""
while (($#)); do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --target) targets+=("${2:?--target needs a name}"); shift 2 ;;
    --keep) keep_dir="${2:?--keep needs a directory}"; shift 2 ;;
    --update-corpus) update_corpus=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --seconds takes a positive integer" >&2; exit 2; }
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")
if [[ -n $keep_dir ]]; then
  keep_dir="$(realpath -m "$keep_dir")"
  [[ "$keep_dir/" == "$ROOT/tests/fuzz/"* ]] && {
    echo "fuzz.sh: --keep must not point into tests/fuzz (the committed corpus stays as generated)" >&2
    exit 2; }
fi
for t in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || {
    echo "fuzz.sh: unknown target '$t' (one of: ${ALL_TARGETS[*]})" >&2; exit 2; }
done

# The largest input tried per harness: beacons a little past the datagram limit, so the size
# check is reached; msgpack for Lua past the 8,000 values push_array_elements can push.
declare -A MAX_LEN=([frame_reader]=8192 [codec]=4096 [beacon]=1500 [lua_convert]=10000)

# clang and libFuzzer's runtime come from scripts/install-deps.sh --with-test-tools.
if ! command -v clang++ >/dev/null || ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
  "$ROOT/scripts/install-deps.sh" --with-test-tools
fi

echo "=== build $BUILD (clang, libFuzzer + ASan + UBSan)"
build_targets="fuzz_make_corpus"
for t in "${targets[@]}"; do build_targets+=" fuzz_$t"; done
CC=clang CXX=clang++ PP_TARGETS="$build_targets" \
  "$ROOT/scripts/build.sh" "$BUILD" -DPP_FUZZ=ON -DPP_BUILD_TESTS=OFF

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ppfuzz.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

if [[ -n $update_corpus ]]; then
  rm -rf "$ROOT/tests/fuzz/corpus"
  "$BUILD/bin/fuzz_make_corpus" "$ROOT/tests/fuzz/corpus"
  exit 0
fi
# The committed seeds should be what the generator makes from today's encoders.
"$BUILD/bin/fuzz_make_corpus" "$WORK/seeds" >/dev/null
if ! diff -rq "$WORK/seeds" "$ROOT/tests/fuzz/corpus" >/dev/null; then
  echo "fuzz.sh: warning: tests/fuzz/corpus differs from what tests/fuzz/make_corpus.cpp writes;" \
       "run scripts/fuzz.sh --update-corpus and commit the result" >&2
fi

# The value of libFuzzer's "stat::NAME:" line in log $1.
fuzz_stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -1; }

LOGS="$BUILD/fuzz-logs"
mkdir -p "$LOGS"
failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$WORK/corpus-$t"
  [[ -n $keep_dir ]] && corpus="$keep_dir/$t"
  artifacts="$WORK/artifacts-$t"
  mkdir -p "$corpus" "$artifacts"
  cp "$ROOT/tests/fuzz/corpus/$t/"* "$corpus/"
  seeds=$(find "$corpus" -type f | wc -l)
  dict=()
  [[ -f "$ROOT/tests/fuzz/dict/$t.dict" ]] && dict=("-dict=$ROOT/tests/fuzz/dict/$t.dict")
  log="$LOGS/$t.log"
  echo "=== fuzz $t for ${seconds} s ($seeds seeds; log $log)"
  start=$(date +%s.%N)
  rc=0
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$BUILD/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len="${MAX_LEN[$t]}" -print_final_stats=1 -artifact_prefix="$artifacts/" \
      "${dict[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  runs=$(fuzz_stat "$log" number_of_executed_units)
  eps=$(fuzz_stat "$log" average_exec_per_sec)
  rss=$(fuzz_stat "$log" peak_rss_mb)
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$done_line")
  files=$(find "$corpus" -type f | wc -l)
  found=$(find "$artifacts" -type f | wc -l)
  result=ok
  if ((rc != 0 || found != 0)); then
    result="FAILED (exit $rc, $found artifact(s))"
    failed+=("$t")
    keep="$BUILD/fuzz-artifacts/$t"
    rm -rf "$keep" && mkdir -p "$keep"
    cp "$artifacts/"* "$keep/" 2>/dev/null || true
    grep -E 'ERROR:|SUMMARY:|fuzz property failed|Test unit written' "$log" | head -20 >&2 || true
    for a in "$keep"/*; do
      [[ -e $a ]] && echo "  replay: $BUILD/bin/fuzz_$t $a" >&2
    done
  fi
  summary+=("$(printf '%-13s %12s %9s %8s %7s %14s %6s %8s  %s' "$t" "${runs:-?}" "${eps:-?}" \
    "$wall" "$seeds>$files" "${corp:-?}" "${cov:-?}" "${rss:-?}" "$result")")
done

echo "=== fuzz summary (${seconds} s per target)"
printf '%-13s %12s %9s %8s %7s %14s %6s %8s  %s\n' target executions exec/s time_s files \
  corpus cov rss_mb result
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz.sh: ${failed[*]} failed; inputs kept under $BUILD/fuzz-artifacts/" >&2
  exit 1
fi
echo "=== fuzzing found nothing"
