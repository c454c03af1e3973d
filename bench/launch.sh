#!/usr/bin/env bash
# bench/launch.sh -- launch to first result, whole process (see bench/README.md).
#
#   bench/launch.sh [--build-dir DIR] [--runs N] [--quick]
#
# Runs, N times each and interleaved run by run (a noisy machine's drifts hit both alike):
#   * ppclient run of a one-job script with local workers (pp.server{ ncpus = 2 }: the
#     embedded node, its 2 workers, one job x -> x + 1, the result printed, everything
#     stopped), timed from before exec to after exit;
#   * the reference: python3 starting multiprocessing.Pool(2), applying one trivial
#     function, printing the result, closing the pool.
# Prints the median and min-max wall time of each in ms, and their ratio. Loopback only.
# The last line is one JSON object for bench/run.sh: launch_s (ppclient's median, in
# seconds), the same and its min and max in ms, and pool_launch_ms for the reference.
# --quick: 3 runs of each.

set -u -o pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD_DIR="$ROOT/build"
RUNS=11
PY=${PPBENCH_PYTHON:-python3}
bench_options "launch.sh: usage: bench/launch.sh [--build-dir DIR] [--runs N] [--quick]" \
  --build-dir=@BUILD_DIR --runs=RUNS --quick=RUNS:3 -- "$@"
bench_need "$BUILD_DIR" ppclient
PPCLIENT="$BUILD_DIR/bin/ppclient"

bench_workdir pp-launch
WORK=$OUT
cat > "$WORK/one.lua" <<'LUA'
local pp = require "pp"
local js = pp.server{ ncpus = 2 }
print(js:submit(function(x) return x + 1 end, {1})())
LUA
cat > "$WORK/one.py" <<'PYTHON'
import multiprocessing

def inc(x):
    return x + 1

if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        print(pool.apply(inc, (1,)))
PYTHON

# Wall time of one command in ms (to 0.01 ms); fails when it fails or prints no 2.
time_ms() {
    local t0 t1 out
    t0=$EPOCHREALTIME
    out=$("$@" 2>"$WORK/err") || { cat "$WORK/err" >&2; return 1; }
    t1=$EPOCHREALTIME
    [ "$out" = 2 ] || { echo "launch.sh: $* printed '$out'" >&2; return 1; }
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) * 1000 }'
}

: > "$WORK/pp"
: > "$WORK/py"
have_py=1
"$PY" -c 'import multiprocessing' 2>/dev/null || have_py=0
for ((i = 0; i < RUNS; i++)); do
    time_ms "$PPCLIENT" run "$WORK/one.lua" >> "$WORK/pp" || exit 1
    if [ $have_py = 1 ]; then time_ms "$PY" "$WORK/one.py" >> "$WORK/py" || exit 1; fi
done

# median min max of a file of numbers
stats() { sort -g "$1" | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.1f %.1f %.1f\n", m, v[1], v[NR] }'; }

read -r pm pmin pmax < <(stats "$WORK/pp")
printf 'launch to first result, %d runs, %s CPUs, load %s\n' "$RUNS" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  ppclient run (2 local workers):   median %6.1f ms  (min %.1f, max %.1f)\n' \
    "$pm" "$pmin" "$pmax"
if [ $have_py = 1 ]; then
    read -r ym ymin ymax < <(stats "$WORK/py")
    printf '  python3 multiprocessing.Pool(2):  median %6.1f ms  (min %.1f, max %.1f)\n' \
        "$ym" "$ymin" "$ymax"
    awk -v a="$pm" -v b="$ym" 'BEGIN { printf "  ratio ppclient / Pool: %.2f\n", a / b }'
else
    echo "  python3 with multiprocessing not found: no reference"
fi
json=$(awk -v m="$pm" -v lo="$pmin" -v hi="$pmax" \
    'BEGIN { printf "\"launch_s\": %.4f, \"launch_ms\": %.1f, \"launch_min_ms\": %.1f, \"launch_max_ms\": %.1f", m / 1000, m, lo, hi }')
if [ $have_py = 1 ]; then
    json="$json$(awk -v y="$ym" 'BEGIN { printf ", \"pool_launch_ms\": %.1f", y }')"
fi
printf '{"runs": %d, %s}\n' "$RUNS" "$json"
