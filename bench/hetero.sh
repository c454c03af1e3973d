#!/usr/bin/env bash
# The heterogeneous-cluster benchmark, for docs/BENCHMARKS.md: two full-speed nodes
# and one at a quarter of their speed (`ppserver --cpu-limit`), one worker each, on
# loopback; a batch of jobs of uneven length under ppcluster's scheduling, under the
# plain free-slot policy (what Parallel Python does) and on the fast nodes alone;
# makespans against the ideal (total work / summed node speeds). See hetero_bench.cpp.
#   bench/hetero.sh [--build-dir DIR] [--repeat N] [--jobs N] [--min-ms N] [--max-ms N]
#                   [--compare-build-dir OLD [--figures FILE]]
# Writes its section of docs/BENCHMARKS.md (between hetero markers; bench/run.sh
# keeps it when it rewrites the rest).
# With --compare-build-dir, measures that build ("old") against --build-dir ("new")
# instead: each side has its own three nodes, and every round runs one batch of each
# set-up per side (hetero_bench --repeat 1, which measures the speeds afresh), old and
# new in turn, the first side alternating; the figures go to FILE (appended; lines for
# bench/compare.py) and the comparison table is printed. The doc is not touched.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
OLD_BUILD=""
FIGURES=""
REPEAT=3
JOBS=60
MIN_MS=20
MAX_MS=600
USAGE="usage: bench/hetero.sh [--build-dir DIR] [--repeat N] [--jobs N] [--min-ms N] [--max-ms N] [--compare-build-dir OLD [--figures FILE]]"
while (($#)); do
  case $1 in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --compare-build-dir) OLD_BUILD=$(cd "$2" && pwd); shift 2 ;;
    --figures) FIGURES=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --min-ms) MIN_MS=$2; shift 2 ;;
    --max-ms) MAX_MS=$2; shift 2 ;;
    *) echo "$USAGE" >&2; exit 2 ;;
  esac
done
[[ -z $FIGURES || -n $OLD_BUILD ]] || { echo "bench/hetero.sh: --figures goes with --compare-build-dir" >&2; exit 2; }
for d in "$BUILD" ${OLD_BUILD:+"$OLD_BUILD"}; do
  for b in ppserver hetero_bench; do
    [[ -x "$d/bin/$b" ]] || { echo "bench/hetero.sh: $d/bin/$b missing; build first (scripts/build.sh)" >&2; exit 2; }
  done
done
OUT=$(mktemp -d /tmp/pp-hetero-XXXXXX)
# start_node runs in a command substitution (a subshell): PIDs go through a file.
cleanup() {
  local pids=""
  [[ -f "$OUT/pids" ]] && pids=$(cat "$OUT/pids")
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
export PP_SECRET="hetero-bench-$$-$RANDOM"

start_node() {  # start_node NAME ARGS...  -> prints 127.0.0.1:PORT
  local name=$1; shift
  "${NODE_BUILD:-$BUILD}/bin/ppserver" -i 127.0.0.1 -p 0 -w 1 "$@" > "$OUT/$name.log" 2>&1 &
  echo $! >> "$OUT/pids"
  local port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/$name.log" | head -1)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "node $name did not start:" >&2; cat "$OUT/$name.log" >&2; exit 1; }
  echo "127.0.0.1:$port"
}
# This machine's CPUs are shared by all three nodes: "full speed" is 80% of a CPU each, so
# that the three together (80 + 80 + 20 %) never compete for CPU time and each behaves like
# a machine of its own; the slow node has a quarter of that.
A=$(start_node fast-a --cpu-limit 80)
B=$(start_node fast-b --cpu-limit 80)
S=$(start_node slow --cpu-limit 20)

if [[ -n $OLD_BUILD ]]; then
  # The old side's nodes; idle while the other side runs.
  OA=$(NODE_BUILD=$OLD_BUILD start_node old-fast-a --cpu-limit 80)
  OB=$(NODE_BUILD=$OLD_BUILD start_node old-fast-b --cpu-limit 80)
  OS=$(NODE_BUILD=$OLD_BUILD start_node old-slow --cpu-limit 20)
  : "${FIGURES:=$OUT/figures.tsv}"
  one_side() {  # one_side old|new ROUND: one batch of each set-up, figures appended
    local side=$1 r=$2 dir=$BUILD a=$A b=$B s=$S load
    [[ $side == old ]] && { dir=$OLD_BUILD; a=$OA; b=$OB; s=$OS; }
    load=$(cut -d' ' -f1 /proc/loadavg)
    "$dir/bin/hetero_bench" --fast "$a" --fast "$b" --slow "$s" --repeat 1 --jobs "$JOBS" \
      --min-ms "$MIN_MS" --max-ms "$MAX_MS" > "$OUT/$side-$r.md" 2> "$OUT/$side-$r.err"
    sed "s/^/$side round $r: /" "$OUT/$side-$r.err" >&2
    awk -v side="$side" -v r="$r" -v load="$load" -F'[ ,|]+' '
      function out(name, dir, v) { printf "hetero: %s\t%s\t%s\t%s\t%s\t%s\n", name, dir, side, r, v, load }
      /^speeds / { sum = $2 + $3 + $4; ideal = $6 / sum; out("speeds summed (job CPU s per wall s)", "higher", sum) }
      /^round 1:/ { ad = $4; fs = $7; fa = $12
        out("makespan, ppcluster on 3 nodes (s)", "lower", ad)
        out("makespan, ppcluster on 3 nodes ÷ ideal", "lower", sprintf("%.3f", ad / ideal))
        out("makespan, free-slot policy on 3 nodes (s)", "lower", fs)
        out("makespan, ppcluster on the 2 fast nodes (s)", "lower", fa) }' \
      "$OUT/$side-$r.err" >> "$FIGURES"
  }
  for r in $(seq 1 "$REPEAT"); do
    if ((r % 2)); then one_side old "$r"; one_side new "$r"; else one_side new "$r"; one_side old "$r"; fi
  done
  python3 "$ROOT/bench/compare.py" "$FIGURES"
  exit 0
fi

LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
"$BUILD/bin/hetero_bench" --fast "$A" --fast "$B" --slow "$S" --repeat "$REPEAT" --jobs "$JOBS" \
  --min-ms "$MIN_MS" --max-ms "$MAX_MS" \
  > "$OUT/section.md"
LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)

{
  echo "<!-- hetero:begin -->"
  echo "## Heterogeneous cluster: a slow node does not stall the batch"
  echo
  echo "Command: \`bench/hetero.sh --repeat $REPEAT --jobs $JOBS --min-ms $MIN_MS --max-ms $MAX_MS\`" \
       "($(date -u +%Y-%m-%d);" \
       "$(nproc) CPUs: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))."
  echo "Three ppserver processes on loopback, one worker each; medians of $REPEAT rounds, the" \
       "set-ups interleaved round by round. Full speed is \`--cpu-limit 80\` and the slow node" \
       "\`--cpu-limit 20\` (a quarter of it), so that the three nodes (1.8 CPUs in all) do not" \
       "compete for this machine's $(nproc) CPUs and each behaves like a machine of its own."
  echo "1-minute load average: $LOAD_BEFORE before the run, $LOAD_AFTER after it. Well above the" \
       "nodes' own 1.8, other work shares the CPUs and the figures say more about that work" \
       "than about the scheduling: the speeds fall, the makespans grow and the ideal, measured" \
       "before the batches, no longer matches them."
  echo
  cat "$OUT/section.md"
  echo "<!-- hetero:end -->"
} > "$OUT/block.md"
cat "$OUT/block.md"
python3 "$ROOT/bench/put_section.py" "$ROOT/docs/BENCHMARKS.md" "$OUT/block.md"
echo "bench/hetero.sh: wrote the hetero section of docs/BENCHMARKS.md"
