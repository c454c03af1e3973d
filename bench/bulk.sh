#!/usr/bin/env bash
# Bulk data and C++ map throughput through the driver and a separate node (issue 11): per
# round, `pp_bench --data` (32 jobs sent 2 MiB that they return: MiB/s of both directions;
# and the uneven batch) and `pp_bench --throughput N` (N trivial jobs by a submit loop, then
# through Cluster::map), against a `ppserver -w 2 --nice 0` on loopback, with the client's
# CPU (user + system, whole process) of each run.
#   bench/bulk.sh [--build-dir DIR] [--repeat N] [--jobs N]
#                 [--compare-build-dir OLD [--figures FILE]]
# Without --compare-build-dir, prints the figures of --build-dir, one line each
# (figure, direction, side, round, value, load: bench/compare.py's format).
# With it, measures that build ("old") against --build-dir ("new"), each side with its own
# node, every round old and new in turn (the first side alternating), and prints
# bench/compare.py's table; the figures go to FILE (appended) when given.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
OLD_BUILD=""
FIGURES=""
REPEAT=3
JOBS=100000
USAGE="usage: bench/bulk.sh [--build-dir DIR] [--repeat N] [--jobs N] [--compare-build-dir OLD [--figures FILE]]"
while (($#)); do
  case $1 in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --compare-build-dir) OLD_BUILD=$(cd "$2" && pwd); shift 2 ;;
    --figures) FIGURES=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    *) echo "$USAGE" >&2; exit 2 ;;
  esac
done
[[ -z $FIGURES || -n $OLD_BUILD ]] || { echo "bench/bulk.sh: --figures goes with --compare-build-dir" >&2; exit 2; }
for d in "$BUILD" ${OLD_BUILD:+"$OLD_BUILD"}; do
  for b in ppserver pp_bench; do
    [[ -x "$d/bin/$b" ]] || { echo "bench/bulk.sh: $d/bin/$b missing; build first (scripts/build.sh)" >&2; exit 2; }
  done
done
OUT=$(mktemp -d /tmp/pp-bulk-XXXXXX)
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
unset PP_SECRET   # loopback nodes without a secret, as pp_cpu.py runs them

start_node() {  # start_node NAME BUILD -> prints 127.0.0.1:PORT
  local name=$1 dir=$2
  "$dir/bin/ppserver" -i 127.0.0.1 -p 0 -w 2 --nice 0 > "$OUT/$name.log" 2>&1 &
  echo $! >> "$OUT/pids"
  local port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/$name.log" | head -1)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "node $name did not start:" >&2; cat "$OUT/$name.log" >&2; exit 1; }
  # Let its calibration finish before anything is measured.
  sleep 1
  echo "127.0.0.1:$port"
}

NEW_NODE=$(start_node new "$BUILD")
[[ -n $OLD_BUILD ]] && OLD_NODE=$(start_node old "$OLD_BUILD")
: "${FIGURES:=$OUT/figures.tsv}"

# One JSON field of a pp_bench line.
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" "$2"; }

one_side() {  # one_side old|new ROUND: one run of each, figures appended
  local side=$1 r=$2 dir=$BUILD node=$NEW_NODE load
  [[ $side == old ]] && { dir=$OLD_BUILD; node=$OLD_NODE; }
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f "%U %S" -o "$OUT/cpu" "$dir/bin/pp_bench" --data --node "$node" > "$OUT/data.json"
  local mib cpu
  mib=$(field bulk_mib_s "$OUT/data.json")
  cpu=$(awk '{print $1 + $2}' "$OUT/cpu")
  /usr/bin/time -f "%U %S" -o "$OUT/cpu" "$dir/bin/pp_bench" --throughput "$JOBS" --node "$node" \
    > "$OUT/tp.json"
  awk -v side="$side" -v r="$r" -v load="$load" -v mib="$mib" -v cpu="$cpu" -v n="$JOBS" \
      -v loop="$(field submit_loop_s "$OUT/tp.json")" -v map="$(field map_s "$OUT/tp.json")" \
      -v tcpu="$(awk '{print $1 + $2}' "$OUT/cpu")" '
    function out(name, dir, v) { printf "bulk: %s\t%s\t%s\t%s\t%s\t%s\n", name, dir, side, r, v, load }
    BEGIN {
      out("bulk 2 MiB in and out, separate node (MiB/s)", "higher", mib)
      out("client CPU of the bulk run, uneven batch included (s)", "lower", cpu)
      out(sprintf("C++ submit loop, %d jobs (jobs/s)", n), "higher", sprintf("%.0f", n / loop))
      out(sprintf("C++ Cluster::map, %d jobs (jobs/s)", n), "higher", sprintf("%.0f", n / map))
      out(sprintf("client CPU per job, loop and map (us)", n), "lower", sprintf("%.2f", tcpu * 1e6 / (2 * n)))
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
