#!/usr/bin/env bash
# Many real nodes on loopback: N `ppserver -w 1` processes (127.0.0.1 only), one client
# that waits for all of them, then a batch of J jobs that each sleep D ms (sleeping, so
# that 2 CPUs can host hundreds of nodes: what is measured is the scheduler and the
# messaging, not the CPU). Prints, per round, the makespan against the ideal
# ceil(J / N) x D, and the median ratio.
#   bench/many_nodes.sh [--build-dir DIR] [--nodes N] [--jobs J] [--nap-ms D]
#                       [--repeat R] [--first-port P]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD="$ROOT/build"
NODES=200 JOBS=4000 NAP=50 REPEAT=3 PORT=42000
bench_options "usage: bench/many_nodes.sh [--build-dir DIR] [--nodes N] [--jobs J] [--nap-ms D] [--repeat R] [--first-port P]" \
  --build-dir=@BUILD --nodes=NODES --jobs=JOBS --nap-ms=NAP --repeat=REPEAT --first-port=PORT -- "$@"
bench_need "$BUILD" ppserver ppclient
bench_workdir pp-many-nodes
bench_start_port_nodes "$NODES" "$PORT" -w 1 -q

ratios=()
for ((r = 1; r <= REPEAT; r++)); do
  line=$("$BUILD/bin/ppclient" run "$ROOT/bench/lab/many_nodes.lua" "$JOBS" "$NAP" "$PORT" "$NODES")
  echo "round $r: $line (load $(cut -d' ' -f1 /proc/loadavg))"
  ratios+=("$(awk '{ for (i = 1; i < NF; i++) if ($i == "ratio") print $(i + 1) }' <<< "$line")")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "median makespan / ideal over %d rounds: %.3f (min %.3f, max %.3f)\n", NR, m, v[1], v[NR] }'
