#!/usr/bin/env bash
# The heterogeneous-cluster benchmark, for docs/BENCHMARKS.md: two full-speed nodes
# and one held to 25% of a CPU (`ppserver --cpu-limit 25`), one worker each, on
# loopback; a batch of jobs of uneven length under ppcluster's scheduling, under the
# plain free-slot policy (what Parallel Python does) and on the fast nodes alone;
# makespans against the ideal (total work / summed node speeds). See hetero_bench.cpp.
#   bench/hetero.sh [--build-dir DIR] [--repeat N] [--jobs N]
# Writes its section of docs/BENCHMARKS.md (between hetero markers; bench/run.sh
# keeps it when it rewrites the rest).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
REPEAT=3
JOBS=150
while (($#)); do
  case $1 in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    *) echo "usage: bench/hetero.sh [--build-dir DIR] [--repeat N] [--jobs N]" >&2; exit 2 ;;
  esac
done
for b in ppserver hetero_bench; do
  [[ -x "$BUILD/bin/$b" ]] || { echo "bench/hetero.sh: $BUILD/bin/$b missing; build first (scripts/build.sh)" >&2; exit 2; }
done
OUT=$(mktemp -d /tmp/pp-hetero-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
export PP_SECRET="hetero-bench-$$-$RANDOM"

start_node() {  # start_node NAME ARGS...  -> prints 127.0.0.1:PORT
  local name=$1; shift
  "$BUILD/bin/ppserver" -i 127.0.0.1 -p 0 -w 1 "$@" > "$OUT/$name.log" 2>&1 &
  PIDS+=($!)
  local port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/$name.log" | head -1)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "node $name did not start:" >&2; cat "$OUT/$name.log" >&2; exit 1; }
  echo "127.0.0.1:$port"
}
A=$(start_node fast-a)
B=$(start_node fast-b)
S=$(start_node slow --cpu-limit 25)

"$BUILD/bin/hetero_bench" --fast "$A" --fast "$B" --slow "$S" --repeat "$REPEAT" --jobs "$JOBS" \
  > "$OUT/section.md"

{
  echo "<!-- hetero:begin -->"
  echo "## Heterogeneous cluster: a slow node does not stall the batch"
  echo
  echo "Command: \`bench/hetero.sh --repeat $REPEAT --jobs $JOBS\` ($(date -u +%Y-%m-%d);" \
       "$(nproc) CPUs: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))."
  echo "Three ppserver processes on loopback; medians of $REPEAT rounds, the set-ups interleaved" \
       "round by round. The machine has $(nproc) CPUs for all three nodes, so the fast nodes" \
       "also share their CPUs with the slow one: the speeds below are measured that way."
  echo
  cat "$OUT/section.md"
  echo "<!-- hetero:end -->"
} > "$OUT/block.md"
cat "$OUT/block.md"
python3 "$ROOT/bench/put_section.py" "$ROOT/docs/BENCHMARKS.md" "$OUT/block.md"
echo "bench/hetero.sh: wrote the hetero section of docs/BENCHMARKS.md"
