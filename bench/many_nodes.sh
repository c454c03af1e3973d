#!/usr/bin/env bash
# Many real nodes on loopback: N `ppserver -w 1` processes (127.0.0.1 only), one client
# that waits for all of them, then a batch of J jobs that each sleep D ms (sleeping, so
# that 2 CPUs can host hundreds of nodes: what is measured is the scheduler and the
# messaging, not the CPU). Prints, per round, the makespan against the ideal
# ceil(J / N) x D, and the median ratio.
#   bench/many_nodes.sh [--build-dir DIR] [--nodes N] [--jobs J] [--nap-ms D]
#                       [--repeat R] [--first-port P]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
NODES=200 JOBS=4000 NAP=50 REPEAT=3 PORT=42000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --nodes) NODES=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --nap-ms) NAP=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --first-port) PORT=$2; shift 2 ;;
    *) echo "usage: bench/many_nodes.sh [--build-dir DIR] [--nodes N] [--jobs J] [--nap-ms D] [--repeat R] [--first-port P]" >&2; exit 2 ;;
  esac
done
for b in ppserver ppclient; do
  [[ -x "$BUILD/bin/$b" ]] || { echo "bench/many_nodes.sh: $BUILD/bin/$b missing; build first" >&2; exit 2; }
done

OUT=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$OUT"
}
trap cleanup EXIT

for ((i = 0; i < NODES; i++)); do
  "$BUILD/bin/ppserver" -i 127.0.0.1 -p $((PORT + i)) -w 1 -q > "$OUT/node-$i.log" 2>&1 &
  pids+=($!)
done

# Every node listening before the client starts (the client's reconnect backoff would
# otherwise be measured too).
for ((i = 0; i < NODES; i++)); do
  for ((t = 0; t < 600; t++)); do
    [[ -n $(ss -Hltn "sport = :$((PORT + i))") ]] && break
    kill -0 "${pids[$i]}" 2>/dev/null || { echo "node $i exited:"; cat "$OUT/node-$i.log"; exit 1; }
    sleep 0.1
  done
done

ratios=()
for ((r = 1; r <= REPEAT; r++)); do
  line=$("$BUILD/bin/ppclient" run "$ROOT/bench/lab/many_nodes.lua" "$JOBS" "$NAP" "$PORT" "$NODES")
  echo "round $r: $line (load $(cut -d' ' -f1 /proc/loadavg))"
  ratios+=("$(awk '{ for (i = 1; i < NF; i++) if ($i == "ratio") print $(i + 1) }' <<< "$line")")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "median makespan / ideal over %d rounds: %.3f (min %.3f, max %.3f)\n", NR, m, v[1], v[NR] }'
