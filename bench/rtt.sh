#!/usr/bin/env bash
# A lone trivial job's round trip, two builds side by side (issue 11): each build gets its
# own `ppserver -w 2 --nice 0` on loopback, and every round runs, old and new in turn (the
# first side alternating), `pp_bench --rtt N --node` (N round trips after 200 to warm up;
# median and p90), then the bare process ping-pong of that round (bench/pingpong.c,
# socketpair: unpinned, and pinned to two CPUs, where every wake-up crosses CPUs; the
# median single round trip of each: the machine's wake-up cost at that moment).
#   bench/rtt.sh [--build-dir NEW] [--compare-build-dir OLD] [--repeat N] [--trips N]
# Prints one line per run (side, round, median µs, p90 µs, the two ping-pongs µs, 1-minute
# load), then per side the median of the rounds' medians and of their ratios to each
# ping-pong.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD="$ROOT/build"
OLD_BUILD=""
REPEAT=5
TRIPS=2000
bench_options "usage: bench/rtt.sh [--build-dir DIR] [--compare-build-dir OLD] [--repeat N] [--trips N]" \
  --build-dir=@BUILD --compare-build-dir=@OLD_BUILD --repeat=REPEAT --trips=TRIPS -- "$@"
for d in "$BUILD" ${OLD_BUILD:+"$OLD_BUILD"}; do
  bench_need "$d" ppserver pp_bench
  grep -aq -- "--rtt" "$d/bin/pp_bench" ||
    { echo "bench/rtt.sh: $d/bin/pp_bench has no --rtt" >&2; exit 2; }
done
bench_workdir pp-rtt
unset PP_SECRET
cc -O2 -o "$OUT/pingpong" "$ROOT/bench/pingpong.c"
start_node() { bench_start_node "$1" "$2" -w 2 --nice 0; }
NEW_NODE=$(start_node new "$BUILD")
[[ -n $OLD_BUILD ]] && OLD_NODE=$(start_node old "$OLD_BUILD")

field() { bench_field "$@"; }
one_side() {  # one_side old|new ROUND
  local side=$1 r=$2 dir=$BUILD node=$NEW_NODE load
  [[ $side == old ]] && { dir=$OLD_BUILD; node=$OLD_NODE; }
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$dir/bin/pp_bench" --rtt "$TRIPS" --node "$node" > "$OUT/rtt.json"
  "$OUT/pingpong" --only socketpair --iters 5000 > "$OUT/pp.json"
  printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$side" "$r" "$(field rtt_median_us "$OUT/rtt.json")" \
    "$(field rtt_p90_us "$OUT/rtt.json")" "$(field pingpong_rtt_single_us "$OUT/pp.json")" \
    "$(field pingpong_cross_cpu_rtt_single_us "$OUT/pp.json")" "$load" | tee -a "$OUT/rows"
}
echo -e "side\tround\tmedian_us\tp90_us\tpingpong_us\tpingpong_cross_cpu_us\tload"
for r in $(seq 1 "$REPEAT"); do
  if [[ -z $OLD_BUILD ]]; then
    one_side new "$r"
  elif ((r % 2)); then
    one_side old "$r"; one_side new "$r"
  else
    one_side new "$r"; one_side old "$r"
  fi
done
python3 - "$OUT/rows" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
for side in ("old", "new"):
    mine = [r for r in rows if r[0] == side]
    if not mine:
        continue
    med = [float(r[2]) for r in mine]
    line = (f"{side}: median of round medians {statistics.median(med):.1f} us "
            f"({min(med):.1f}-{max(med):.1f}), {len(mine)} rounds")
    for col, name in ((4, "ping-pong"), (5, "ping-pong on two CPUs")):
        ratio = [float(r[2]) / float(r[col]) for r in mine if r[col] and float(r[col]) > 0]
        if ratio:
            line += (f"; / {name} {statistics.median(ratio):.2f}x "
                     f"({min(ratio):.2f}-{max(ratio):.2f})")
    print(line)
PY
