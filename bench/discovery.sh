#!/usr/bin/env bash
# Discovery figures on a LAN of network namespaces (as root), for docs/BENCHMARKS.md:
#  - time from a node's start to the client's first job on it, for a node that starts
#    while the client waits with no node at all, and for one that joins mid-batch;
#  - beacon traffic per node (bytes per second), as logged by each node at shutdown.
#   bench/discovery.sh [--build-dir DIR] [--repeat N]
# Writes its section of docs/BENCHMARKS.md (between discovery markers; bench/run.sh
# keeps it when it rewrites the rest).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
REPEAT=3
while (($#)); do
  case $1 in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    *) echo "usage: bench/discovery.sh [--build-dir DIR] [--repeat N]" >&2; exit 2 ;;
  esac
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
node() {  # node HOST ROUND
  "$LABSH" exec "$LAB" "$1" -- "$BUILD/bin/ppserver" -w 2 -a --no-mdns > "$OUT/$1-$2.log" 2>&1 &
  echo $! >> "$OUT/pids"
  echo $!
}
for r in $(seq 1 "$REPEAT"); do
  "$LABSH" exec "$LAB" h3 -- "$BUILD/bin/ppclient" run "$ROOT/bench/lab/join_client.lua" 300 20 \
    > "$OUT/client-$r.log" 2>&1 &
  client=$!
  sleep 1                                 # the client waits with no node
  t1=$(now); n1=$(node h1 "$r")
  sleep 2                                 # mid-batch
  t2=$(now); n2=$(node h2 "$r")
  wait "$client"
  sleep 6                                 # let both announce for a while
  kill -TERM "$n1" "$n2"; wait "$n1" "$n2" 2>/dev/null || true
  a1=$(sed -n 's/^h1=//p' "$OUT/lab.info"); a2=$(sed -n 's/^h2=//p' "$OUT/lab.info")
  f1=$(sed -n "s/^first job on $a1:60000 at //p" "$OUT/client-$r.log")
  f2=$(sed -n "s/^first job on $a2:60000 at //p" "$OUT/client-$r.log")
  b1=$(sed -n 's/.*beacon bytes in .* s (\([0-9.]*\) bytes\/s).*/\1/p' "$OUT/h1-$r.log")
  b2=$(sed -n 's/.*beacon bytes in .* s (\([0-9.]*\) bytes\/s).*/\1/p' "$OUT/h2-$r.log")
  awk -v r="$r" -v t1="$t1" -v f1="$f1" -v t2="$t2" -v f2="$f2" -v b1="$b1" -v b2="$b2" 'BEGIN {
    printf "| %d | %.3f | %.3f | %s | %s |\n", r, f1 - t1, f2 - t2, b1, b2 }' | tee -a "$OUT/rows"
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
  echo "| round | first job, node started while the client waited (s) | first job, node joining mid-batch (s) | beacons node 1 (bytes/s) | beacons node 2 (bytes/s) |"
  echo "| --- | --- | --- | --- | --- |"
  cat "$OUT/rows"
  echo "<!-- discovery:end -->"
} > "$OUT/section.md"
python3 "$ROOT/bench/put_section.py" "$DOC" "$OUT/section.md"
echo "bench/discovery.sh: wrote the discovery section of docs/BENCHMARKS.md"
