#!/usr/bin/env bash
# Bulk data and C++ map throughput through the driver and a separate node (issue 11): per
# round, `pp_bench --data` (32 jobs sent 2 MiB that they return: MiB/s of both directions;
# and the uneven batch), `pp_bench --bulk R` (that bulk batch alone, R times on one
# cluster: the median round's MiB/s, and the CPU seconds per GiB moved of the driver and of
# the node with its workers) and `pp_bench --throughput N` (N trivial jobs by a submit
# loop, then through Cluster::map), against a `ppserver -w 2 --nice 0` on loopback, with
# the client's CPU (user + system, whole process) of each run. --jobs 0 leaves the
# throughput run out.
#   bench/bulk.sh [--build-dir DIR] [--repeat N] [--jobs N] [--bulk-rounds R]
#                 [--compare-build-dir OLD [--figures FILE]]
# Without --compare-build-dir, prints the figures of --build-dir, one line each
# (figure, direction, side, round, value, load: bench/compare.py's format).
# With it, measures that build ("old") against --build-dir ("new"), each side with its own
# node, every round old and new in turn (the first side alternating), and prints
# bench/compare.py's table; the figures go to FILE (appended) when given.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD="$ROOT/build"
OLD_BUILD=""
FIGURES=""
REPEAT=3
JOBS=100000
BULK_ROUNDS=5
bench_options "usage: bench/bulk.sh [--build-dir DIR] [--repeat N] [--jobs N] [--bulk-rounds R] [--compare-build-dir OLD [--figures FILE]]" \
  --build-dir=@BUILD --compare-build-dir=@OLD_BUILD --figures=FIGURES --repeat=REPEAT \
  --jobs=JOBS --bulk-rounds=BULK_ROUNDS -- "$@"
[[ -z $FIGURES || -n $OLD_BUILD ]] || { echo "bench/bulk.sh: --figures goes with --compare-build-dir" >&2; exit 2; }
for d in "$BUILD" ${OLD_BUILD:+"$OLD_BUILD"}; do bench_need "$d" ppserver pp_bench; done
bench_workdir pp-bulk
unset PP_SECRET   # loopback nodes without a secret, as pp_cpu.py runs them
start_node() { bench_start_node "$1" "$2" -w 2 --nice 0; }   # -> 127.0.0.1:PORT

NEW_NODE=$(start_node new "$BUILD")
[[ -n $OLD_BUILD ]] && OLD_NODE=$(start_node old "$OLD_BUILD")
: "${FIGURES:=$OUT/figures.tsv}"

# One JSON field of a pp_bench line.
field() { bench_field "$@"; }

# CPU clock ticks (user + system, reaped children included) of the node PID and of its
# children alive now (its workers).
node_ticks() {
  awk -v p="$1" '{ s = $0; sub(/^[0-9]+ \(.*\) /, "", s); split(s, f, " ")
                  if ($1 + 0 == p || f[2] + 0 == p) t += f[12] + f[13] + f[14] + f[15] }
                END { print t + 0 }' /proc/[0-9]*/stat 2>/dev/null || true
}

# `pp_bench --bulk R`: the median round's MiB/s; the CPU seconds per GiB moved of the
# driver (its whole process) and of the node with its workers (from /proc, around the run).
bulk_rounds() {  # bulk_rounds BUILD NODE NODE_PID -> "mib driver_s_per_gib node_s_per_gib"
  local dir=$1 node=$2 pid=$3 t0 t1
  t0=$(node_ticks "$pid")
  /usr/bin/time -f "%U %S" -o "$OUT/cpu" "$dir/bin/pp_bench" --bulk "$BULK_ROUNDS" --node "$node" \
    > "$OUT/bulk.json"
  t1=$(node_ticks "$pid")
  python3 - "$OUT/bulk.json" "$OUT/cpu" "$t0" "$t1" "$(getconf CLK_TCK)" "$BULK_ROUNDS" <<'PY'
import json, statistics, sys
rounds = json.load(open(sys.argv[1]))["bulk_mib_s"]
user, system = map(float, open(sys.argv[2]).read().split()[:2])
t0, t1, hz, n = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
gib = (n * 32 + 1) * 4 / 1024   # per round 32 jobs (and one to warm up): 2 MiB in, 2 MiB out
print(f"{statistics.median(rounds):.1f} {(user + system) / gib:.3f} {(t1 - t0) / hz / gib:.3f}")
PY
}

one_side() {  # one_side old|new ROUND: one run of each, figures appended
  local side=$1 r=$2 dir=$BUILD node=$NEW_NODE pid load
  [[ $side == old ]] && { dir=$OLD_BUILD; node=$OLD_NODE; }
  pid=$(cat "$OUT/$side.pid")
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f "%U %S" -o "$OUT/cpu" "$dir/bin/pp_bench" --data --node "$node" > "$OUT/data.json"
  local mib cpu bulk loop="" map="" tcpu=""
  mib=$(field bulk_mib_s "$OUT/data.json")
  cpu=$(awk '{print $1 + $2}' "$OUT/cpu")
  bulk=$(bulk_rounds "$dir" "$node" "$pid")
  if ((JOBS > 0)); then
    /usr/bin/time -f "%U %S" -o "$OUT/cpu" "$dir/bin/pp_bench" --throughput "$JOBS" --node "$node" \
      > "$OUT/tp.json"
    loop=$(field submit_loop_s "$OUT/tp.json") map=$(field map_s "$OUT/tp.json")
    tcpu=$(awk '{print $1 + $2}' "$OUT/cpu")
  fi
  awk -v side="$side" -v r="$r" -v load="$load" -v mib="$mib" -v cpu="$cpu" -v n="$JOBS" \
      -v loop="$loop" -v map="$map" -v tcpu="$tcpu" -v bulk="$bulk" -v rounds="$BULK_ROUNDS" '
    function out(name, dir, v) { printf "bulk: %s\t%s\t%s\t%s\t%s\t%s\n", name, dir, side, r, v, load }
    BEGIN {
      split(bulk, b, " ")
      out("bulk 2 MiB in and out, separate node (MiB/s)", "higher", mib)
      out("client CPU of the bulk run, uneven batch included (s)", "lower", cpu)
      out(sprintf("bulk alone, median of %d rounds on one cluster (MiB/s)", rounds), "higher", b[1])
      out("bulk alone: driver CPU per GiB moved (s)", "lower", b[2])
      out("bulk alone: node and workers CPU per GiB moved (s)", "lower", b[3])
      out("bulk alone: every process CPU per GiB moved (s)", "lower", b[2] + b[3])
      if (n > 0) {
        out(sprintf("C++ submit loop, %d jobs (jobs/s)", n), "higher", sprintf("%.0f", n / loop))
        out(sprintf("C++ Cluster::map, %d jobs (jobs/s)", n), "higher", sprintf("%.0f", n / map))
        out("client CPU per job, loop and map (us)", "lower", sprintf("%.2f", tcpu * 1e6 / (2 * n)))
      }
    }' >> "$FIGURES"
}

for r in $(seq 1 "$REPEAT"); do
  if [[ -z $OLD_BUILD ]]; then
    one_side new "$r"
  elif ((r % 2)); then
    one_side old "$r"; one_side new "$r"
  else
    one_side new "$r"; one_side old "$r"
  fi
done
if [[ -n $OLD_BUILD ]]; then
  python3 "$ROOT/bench/compare.py" "$FIGURES"
else
  cat "$FIGURES"
fi
