#!/usr/bin/env bash
# Discovery figures on a LAN of network namespaces (as root), for docs/BENCHMARKS.md:
#  - time from a node's start to the client's first job on it, for a node that starts
#    while the client waits with no node at all, and for one that joins mid-batch;
#  - beacon traffic per node (bytes per second), as logged by each node at shutdown.
#   bench/discovery.sh [--build-dir DIR] [--repeat N] [--compare-build-dir OLD [--figures FILE]]
# Writes its section of docs/BENCHMARKS.md (between discovery markers; bench/run.sh
# keeps it when it rewrites the rest).
# With --compare-build-dir, measures that build ("old") against --build-dir ("new")
# instead, in one lab: every round runs once per side, old and new in turn, the first
# side alternating; the figures go to FILE (appended; lines for bench/compare.py) and
# the comparison table is printed. The doc is not touched.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
OLD_BUILD=""
FIGURES=""
REPEAT=3
while (($#)); do
  case $1 in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --compare-build-dir) OLD_BUILD=$(cd "$2" && pwd); shift 2 ;;
    --figures) FIGURES=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    *) echo "usage: bench/discovery.sh [--build-dir DIR] [--repeat N] [--compare-build-dir OLD [--figures FILE]]" >&2; exit 2 ;;
  esac
done
[[ -z $FIGURES || -n $OLD_BUILD ]] || { echo "bench/discovery.sh: --figures goes with --compare-build-dir" >&2; exit 2; }
for d in "$BUILD" ${OLD_BUILD:+"$OLD_BUILD"}; do
  for b in ppserver ppclient; do
    [[ -x "$d/bin/$b" ]] || { echo "bench/discovery.sh: $d/bin/$b missing; build first (scripts/build.sh)" >&2; exit 2; }
  done
done
[[ $(id -u) -eq 0 ]] || { echo "bench/discovery.sh needs root (network namespaces)" >&2; exit 2; }
LABSH="$ROOT/scripts/lab.sh"
LAB="pb$$"
OUT=$(mktemp -d /tmp/pp-discobench-XXXXXX)
# node() runs in a command substitution (a subshell): PIDs go through a file.
cleanup() {
  [[ -f "$OUT/pids" ]] && for p in $(cat "$OUT/pids"); do kill "$p" 2>/dev/null || true; done
  "$LABSH" down "$LAB" >/dev/null 2>&1 || true
  rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
export PP_SECRET="bench-secret-$$"
"$LABSH" up "$LAB" 3 > "$OUT/lab.info"
now() { date +%s.%N; }
node() {  # node DIR HOST TAG
  "$LABSH" exec "$LAB" "$2" -- "$1/bin/ppserver" -w 2 -a --no-mdns > "$OUT/$2-$3.log" 2>&1 &
  echo $! >> "$OUT/pids"
  echo $!
}
# one_round DIR TAG: a client waiting on h3, a node started on h1, another on h2 mid-batch;
# prints the row: first-job delays (s) and beacon rates (bytes/s) of h1 and h2.
one_round() {
  local dir=$1 tag=$2 client t1 n1 t2 n2 a1 a2 f1 f2 b1 b2
  "$LABSH" exec "$LAB" h3 -- "$dir/bin/ppclient" run "$ROOT/bench/lab/join_client.lua" 300 20 \
    > "$OUT/client-$tag.log" 2>&1 &
  client=$!
  sleep 1                                 # the client waits with no node
  t1=$(now); n1=$(node "$dir" h1 "$tag")
  sleep 2                                 # mid-batch
  t2=$(now); n2=$(node "$dir" h2 "$tag")
  wait "$client"
  sleep 6                                 # let both announce for a while
  # The nodes were started in command substitutions, so they are not this shell's children
  # and `wait` cannot wait for them: poll until they are gone (their last log line, the
  # beacon figure, is written on the way out).
  kill -TERM "$n1" "$n2"
  for _ in $(seq 1 100); do kill -0 "$n1" 2>/dev/null || kill -0 "$n2" 2>/dev/null || break; sleep 0.1; done
  a1=$(sed -n 's/^h1=//p' "$OUT/lab.info"); a2=$(sed -n 's/^h2=//p' "$OUT/lab.info")
  f1=$(sed -n "s/^first job on $a1:60000 at //p" "$OUT/client-$tag.log")
  f2=$(sed -n "s/^first job on $a2:60000 at //p" "$OUT/client-$tag.log")
  b1=$(sed -n 's/.*beacon bytes in .* s (\([0-9.]*\) bytes\/s).*/\1/p' "$OUT/h1-$tag.log")
  b2=$(sed -n 's/.*beacon bytes in .* s (\([0-9.]*\) bytes\/s).*/\1/p' "$OUT/h2-$tag.log")
  [[ -n $f1 && -n $f2 && -n $b1 && -n $b2 ]] || {
    echo "bench/discovery.sh: round $tag gave no figure; client log:" >&2; cat "$OUT/client-$tag.log" >&2; exit 1; }
  awk -v t1="$t1" -v f1="$f1" -v t2="$t2" -v f2="$f2" -v b1="$b1" -v b2="$b2" 'BEGIN {
    printf "%.3f %.3f %s %s\n", f1 - t1, f2 - t2, b1, b2 }'
}
if [[ -n $OLD_BUILD ]]; then
  : "${FIGURES:=$OUT/figures.tsv}"
  side_round() {  # side_round old|new ROUND: appends the round's figures
    local side=$1 r=$2 dir=$BUILD load row
    [[ $side == old ]] && dir=$OLD_BUILD
    load=$(cut -d' ' -f1 /proc/loadavg)
    row=$(one_round "$dir" "$side-$r")
    echo "$side round $r: $row (load $load)"
    echo "$row" | awk -v side="$side" -v r="$r" -v load="$load" '{
      n[1] = "first job, node started while the client waited (s)"; d[1] = "lower"
      n[2] = "first job, node joining mid-batch (s)"; d[2] = "lower"
      n[3] = "beacons node 1 (bytes/s)"; d[3] = "lower"
      n[4] = "beacons node 2 (bytes/s)"; d[4] = "lower"
      for (i = 1; i <= 4; i++) printf "discovery: %s\t%s\t%s\t%s\t%s\t%s\n", n[i], d[i], side, r, $i, load
    }' >> "$FIGURES"
  }
  for r in $(seq 1 "$REPEAT"); do
    if ((r % 2)); then side_round old "$r"; side_round new "$r"; else side_round new "$r"; side_round old "$r"; fi
  done
  python3 "$ROOT/bench/compare.py" "$FIGURES"
  exit 0
fi
for r in $(seq 1 "$REPEAT"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  one_round "$BUILD" "$r" |
    awk -v r="$r" -v load="$load" '{ printf "| %d | %s | %s | %s | %s | %s |\n", r, $1, $2, $3, $4, load }' |
    tee -a "$OUT/rows"
done

DOC="$ROOT/docs/BENCHMARKS.md"
rel_build=${BUILD#"$ROOT"/}
[[ $rel_build == "$BUILD" ]] && rel_build="<build-dir>"
cmd="bench/discovery.sh --repeat $REPEAT"
[[ $rel_build != build ]] && cmd+=" --build-dir $rel_build"
{
  echo "<!-- discovery:begin -->"
  echo "## Discovery on a LAN of network namespaces"
  echo
  echo "- Command: \`$cmd\` (as root; $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs)"
  echo "- Three hosts from \`scripts/lab.sh\`; nodes \`ppserver -w 2 -a --no-mdns\` (UDP broadcast,"
  echo "  announce interval 3 s); a client with \`ppservers = {\"*\"}\` and a batch of 300 jobs of 20 ms."
  echo "- *First job*: from the moment the node process is started to the start of the first job"
  echo "  it runs (both clocks CLOCK_REALTIME on one machine); the node first calibrates (~20 ms)"
  echo "  and starts its workers. Target: well under 1 s."
  echo "- *Beacons*: bytes of UDP beacons the node sent over its life (announces to the subnet,"
  echo "  255.255.255.255 and loopback, replies to queries, BYE), divided by its lifetime."
  echo
  echo "| round | first job, node started while the client waited (s) | first job, node joining mid-batch (s) | beacons node 1 (bytes/s) | beacons node 2 (bytes/s) | 1-minute load before |"
  echo "| --- | --- | --- | --- | --- | --- |"
  cat "$OUT/rows"
  echo "<!-- discovery:end -->"
} > "$OUT/section.md"
python3 "$ROOT/bench/put_section.py" "$DOC" "$OUT/section.md"
echo "bench/discovery.sh: wrote the discovery section of docs/BENCHMARKS.md"
