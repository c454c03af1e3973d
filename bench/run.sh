#!/usr/bin/env bash
# bench/run.sh -- ppcluster benchmark driver (see bench/README.md).
#
#   bench/run.sh [--quick] [--build-dir DIR] [--repeat N] [--report FILE]
#
# Runs, N times each and interleaved round by round (so slow drifts of a
# noisy machine hit every system alike):
#   * bench/pi_reference.c  -- plain C, 2 threads, Monte Carlo pi (built here)
#   * bench/pingpong.c      -- bare one-byte ping-pong between two processes
#                              (socketpair and TCP 127.0.0.1, unpinned and
#                              pinned to one / two CPUs; built here): the
#                              machine's wake-up latency in that round
#   * $BUILD_DIR/bin/pp_bench --json [--quick]   -- ppcluster (built by CMake)
#   * bench/peers/dask_bench.py        -- Dask distributed, 2 workers
#   * bench/peers/ipyparallel_bench.py -- IPython Parallel, 2 engines
#   * bench/peers/mp_bench.py          -- multiprocessing.Pool(2): the no-network
#                                         reference (also its CPU per job and
#                                         launch to first result)
#   * bench/pp_cpu.py                  -- ppcluster's trivial jobs through the Lua API
#                                         and C++ (submit loop, map), separate
#                                         ppserver -w 2 and embedded node, with the
#                                         CPU of every process per job
#   * $BUILD_DIR/bin/sched_sim         -- the scheduler at 1,000 nodes and 1,000,000
#                                         jobs in the simulator (seed = round)
#   * bench/launch.sh, bench/memory.sh -- launch to first result and peak memory of
#                                         1,000,000 jobs, when those scripts exist
# and writes the medians to docs/BENCHMARKS.md (or --report FILE) via
# bench/report.py.  Raw JSON, stderr logs and exit codes of every run are
# kept in $BUILD_DIR/bench-results/<timestamp>/.  The report names no path of
# this machine: paths are shown relative to the repository root, or as
# <build-dir> for a build directory outside it.
#
# All traffic stays on 127.0.0.1.  Exit status: 0 when every run of every
# available system succeeded, 1 when some run failed (the report is still
# written, with the failures marked), 2 on bad usage or build failure.

set -u -o pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

QUICK=0
REPEAT=3
BUILD_DIR="$ROOT/build"
REPORT="$ROOT/docs/BENCHMARKS.md"
PY=${PPBENCH_PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
PEER_TIMEOUT=600          # each peer's own limit (seconds); a loaded 2-core box needs it
OUTER_TIMEOUT=720         # hard limit around every process started here

usage() {
    # the comment block at the top of this file
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --repeat)
            [ $# -ge 2 ] || { echo "run.sh: --repeat needs a value" >&2; exit 2; }
            REPEAT=$2; shift ;;
        --repeat=*) REPEAT=${1#*=} ;;
        --build-dir)
            [ $# -ge 2 ] || { echo "run.sh: --build-dir needs a value" >&2; exit 2; }
            BUILD_DIR=$2; shift ;;
        --build-dir=*) BUILD_DIR=${1#*=} ;;
        --report)
            [ $# -ge 2 ] || { echo "run.sh: --report needs a value" >&2; exit 2; }
            REPORT=$2; shift ;;
        --report=*) REPORT=${1#*=} ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

case "$REPEAT" in
    ''|*[!0-9]*|0) echo "run.sh: --repeat must be a positive integer" >&2; exit 2 ;;
esac
mkdir -p "$BUILD_DIR" || exit 2
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
case "$REPORT" in /*) ;; *) REPORT="$PWD/$REPORT" ;; esac

# How the build directory is shown in the report: "build" (the default), a
# path relative to the repository root, or "<build-dir>" when outside it.
ROOT_P=$(cd "$ROOT" && pwd -P)
BUILD_P=$(cd "$BUILD_DIR" && pwd -P)
case "$BUILD_P/" in
    "$ROOT_P/build/") BUILD_SHOW=build ;;
    "$ROOT_P/") BUILD_SHOW=. ;;
    "$ROOT_P/"?*) BUILD_SHOW=${BUILD_P#"$ROOT_P/"} ;;
    *) BUILD_SHOW="<build-dir>" ;;
esac

if [ ! -x "$PY" ]; then
    echo "run.sh: $PY not found; the peers need the system python with python3-distributed and python3-ipyparallel" >&2
    exit 2
fi

STAMP=$(date -u +%Y%m%d-%H%M%S)
RESULTS="$BUILD_DIR/bench-results/$STAMP"
mkdir -p "$RESULTS" || exit 2
QUICK_FLAG=()
[ "$QUICK" = 1 ] && QUICK_FLAG=(--quick)

log() { printf '[run.sh] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- C reference
PI_REF="$BUILD_DIR/bench-results/pi_reference"
log "building $PI_REF"
if ! "$CC" -O2 -ffp-contract=off -pthread -o "$PI_REF" "$SCRIPT_DIR/pi_reference.c"; then
    log "ERROR: could not build bench/pi_reference.c with $CC"
    exit 2
fi

PINGPONG="$BUILD_DIR/bench-results/pingpong"
log "building $PINGPONG"
if ! "$CC" -O2 -o "$PINGPONG" "$SCRIPT_DIR/pingpong.c"; then
    log "ERROR: could not build bench/pingpong.c with $CC"
    exit 2
fi

# Reference hit count: the peers and pp_bench must reproduce it exactly.
REF_HITS=$("$PI_REF" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["hits"])') || {
    log "ERROR: pi_reference did not run"; exit 2; }
log "C reference hit count: $REF_HITS"

# ------------------------------------------------------------------ ppcluster
PP_BENCH="$BUILD_DIR/bin/pp_bench"
HAVE_PP=1
if [ ! -x "$PP_BENCH" ]; then
    HAVE_PP=0
    log "NOTE: $PP_BENCH does not exist (yet): ppcluster is NOT measured in this run."
    log "      Build it first (cmake -S $ROOT -B $BUILD_DIR && cmake --build $BUILD_DIR --target pp_bench);"
    log "      the peers and the C reference are measured anyway."
    echo "missing: $PP_BENCH" > "$RESULTS/ppcluster.missing"
fi

SCHED_SIM="$BUILD_DIR/bin/sched_sim"
HAVE_SIM=1
if [ ! -x "$SCHED_SIM" ]; then
    HAVE_SIM=0
    log "NOTE: $SCHED_SIM does not exist (yet): the scheduler simulation is NOT run."
    echo "missing: $SCHED_SIM" > "$RESULTS/sched_sim.missing"
fi
HAVE_CPU=1
for b in ppserver ppclient pp_bench; do
    if [ ! -x "$BUILD_DIR/bin/$b" ]; then
        HAVE_CPU=0
        log "NOTE: $BUILD_DIR/bin/$b does not exist (yet): CPU per job is NOT measured."
        echo "missing: $BUILD_DIR/bin/$b" > "$RESULTS/pp_cpu.missing"
    fi
done
if [ "$QUICK" = 1 ]; then
    CPU_JOBS=10000; SIM_ARGS=(--jobs 100000)
else
    CPU_JOBS=100000; SIM_ARGS=()
fi

FAILED=0
# run_one NAME ROUND CMD... : stdout -> NAME.ROUND.json, stderr -> .err, status -> .rc,
# 1-minute load average just before the run -> .load
run_one() {
    local name=$1 round=$2; shift 2
    local base="$RESULTS/$name.$round"
    log "round $round/$REPEAT: $name"
    cut -d' ' -f1 /proc/loadavg >"$base.load" 2>/dev/null
    timeout --kill-after=30 "$OUTER_TIMEOUT" "$@" >"$base.json" 2>"$base.err"
    local rc=$?
    echo "$rc" >"$base.rc"
    if [ "$rc" -ne 0 ]; then
        FAILED=1
        log "  $name failed (exit $rc); last lines of its stderr:"
        tail -n 5 "$base.err" | sed 's/^/    /' >&2
    else
        log "  $(tail -n 1 "$base.json" | cut -c1-200)"
    fi
}

for round in $(seq 1 "$REPEAT"); do
    run_one c_reference "$round" "$PI_REF"
    # the machine's bare wake-up latency, right before ppcluster's round trips
    run_one pingpong "$round" "$PINGPONG"
    if [ "$HAVE_PP" = 1 ]; then
        run_one ppcluster "$round" "$PP_BENCH" --json "${QUICK_FLAG[@]}"
    fi
    run_one dask "$round" "$PY" "$SCRIPT_DIR/peers/dask_bench.py" "${QUICK_FLAG[@]}" \
        --timeout "$PEER_TIMEOUT" --expect-hits "$REF_HITS"
    run_one ipyparallel "$round" "$PY" "$SCRIPT_DIR/peers/ipyparallel_bench.py" "${QUICK_FLAG[@]}" \
        --timeout "$PEER_TIMEOUT" --expect-hits "$REF_HITS"
    run_one multiprocessing "$round" "$PY" "$SCRIPT_DIR/peers/mp_bench.py" "${QUICK_FLAG[@]}" \
        --timeout "$PEER_TIMEOUT" --expect-hits "$REF_HITS"
    if [ "$HAVE_CPU" = 1 ]; then
        run_one pp_cpu "$round" "$PY" "$SCRIPT_DIR/pp_cpu.py" --build-dir "$BUILD_DIR" \
            --jobs "$CPU_JOBS" --timeout "$PEER_TIMEOUT"
    fi
    if [ "$HAVE_SIM" = 1 ]; then
        run_one sched_sim "$round" "$SCHED_SIM" --seed "$round" ${SIM_ARGS[@]+"${SIM_ARGS[@]}"}
    fi
    # ---- hook: launch to first result, peak memory of 1,000,000 jobs -------------
    # bench/launch.sh and bench/memory.sh are separate scripts. When one exists it
    # runs here, in the same round, as
    #     bench/<name>.sh --build-dir DIR [--quick]
    # and prints one JSON object on stdout (its last line); report.py shows every
    # numeric key of it (medians over the rounds) and reads `launch_s` (seconds from
    # the start of `ppclient run` of a one-job script to its exit) and `peak_rss_mb`
    # (the driver's peak RSS with 1,000,000 jobs submitted at once) for the targets.
    for extra in launch memory; do
        if [ -x "$SCRIPT_DIR/$extra.sh" ]; then
            run_one "$extra" "$round" "$SCRIPT_DIR/$extra.sh" --build-dir "$BUILD_DIR" \
                ${QUICK_FLAG[@]+"${QUICK_FLAG[@]}"}
        elif [ "$round" = 1 ]; then
            log "NOTE: bench/$extra.sh does not exist (yet): skipped"
            echo "missing: bench/$extra.sh" > "$RESULTS/$extra.missing"
        fi
    done
done

# --------------------------------------------------------------------- report
# The command as run from the repository root, without paths of this machine
# (--report is left out: it names the file the line is written to).
CMDLINE="bench/run.sh"
[ "$QUICK" = 1 ] && CMDLINE="$CMDLINE --quick"
[ "$BUILD_SHOW" != build ] && CMDLINE="$CMDLINE --build-dir $BUILD_SHOW"
CMDLINE="$CMDLINE --repeat $REPEAT"
mkdir -p "$(dirname "$REPORT")" || exit 2
"$PY" "$SCRIPT_DIR/report.py" --results "$RESULTS" --repeat "$REPEAT" \
    --command "$CMDLINE" --ref-hits "$REF_HITS" --pp-bench "$BUILD_SHOW/bin/pp_bench" \
    --results-label "$BUILD_SHOW/bench-results/$STAMP" \
    --root "$ROOT" --build-dir "$BUILD_DIR" \
    ${QUICK_FLAG[@]+"${QUICK_FLAG[@]}"} --output "$REPORT"
case $? in
    0) ;;
    3) log "ERROR: a pi hit count differs from the C reference (marked in the report)"; FAILED=1 ;;
    *) log "ERROR: report.py failed; raw results are in $RESULTS"; exit 1 ;;
esac
log "raw results: $RESULTS"
log "report: $REPORT"
exit "$FAILED"
