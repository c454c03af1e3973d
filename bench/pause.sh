#!/usr/bin/env bash
# A node paused mid-batch (issue 15): two nodes of 2 workers on loopback run a batch of
# JOBS jobs of SECONDS CPU seconds each; once both are busy, node A gets SIGUSR1. Prints,
# per round: the time from the signal to the node's "paused" log line (its workers held),
# and to the client's handling of PAUSE (its STEAL of A's queued jobs and its backup copies
# of A's running ones leave in that same step), the jobs taken back from A, the backup
# copies that won on B, A's paused seconds in the report, and the batch's wall time.
# Every job's value is checked by the driver.
#   bench/pause.sh [--build-dir DIR] [--repeat N] [--jobs N] [--seconds S]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
REPEAT=3
JOBS=40
SECONDS_PER_JOB=0.5
USAGE="usage: bench/pause.sh [--build-dir DIR] [--repeat N] [--jobs N] [--seconds S]"
while (($#)); do
  case $1 in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --seconds) SECONDS_PER_JOB=$2; shift 2 ;;
    *) echo "$USAGE" >&2; exit 2 ;;
  esac
done
for b in ppserver ppclient; do
  [[ -x "$BUILD/bin/$b" ]] || { echo "bench/pause.sh: $BUILD/bin/$b missing; build first" >&2; exit 2; }
done
DIR=$(mktemp -d /tmp/pp-pause-bench-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
export PP_SECRET=pause-bench-secret

# tod / now_tod: the log lines' times.
. "$ROOT/bench/lib.sh"

echo "round  to_node_paused_s  to_client_pause_s  taken_back  backups_won  a_paused_s  wall_s  load"
for round in $(seq 1 "$REPEAT"); do
  for name in a b; do
    "$BUILD/bin/ppserver" -i 127.0.0.1 -p 0 -w 2 --nice 0 --report-fd 3 \
      3> "$DIR/$name.port" 2> "$DIR/$name.log" &
    PIDS+=($!)
    eval "PID_$name=$!"
  done
  for name in a b; do
    for _ in $(seq 1 300); do [[ -s $DIR/$name.port ]] && break; sleep 0.05; done
  done
  A=127.0.0.1:$(tr -dc '0-9' < "$DIR/a.port")
  B=127.0.0.1:$(tr -dc '0-9' < "$DIR/b.port")
  rm -f "$DIR/started"
  NODE_A=$A NODE_B=$B JOBS=$JOBS SECONDS_PER_JOB=$SECONDS_PER_JOB STARTED=$DIR/started \
    "$BUILD/bin/ppclient" run --no-echo --report "$DIR/report.json" "$ROOT/bench/spin_batch.lua" \
    > "$DIR/client.out" 2> "$DIR/client.log" &
  CLIENT=$!
  for _ in $(seq 1 600); do [[ -e $DIR/started ]] && break; sleep 0.05; done
  sleep $(awk -v s="$SECONDS_PER_JOB" 'BEGIN { print s * 1.5 }')   # both nodes busy
  T0=$(now_tod)
  kill -USR1 "$PID_a"
  wait "$CLIENT" || { cat "$DIR/client.log"; echo "bench/pause.sh: the batch failed" >&2; exit 1; }
  grep -q "all $JOBS results correct" "$DIR/client.out"
  node_at=$(grep -m1 "paused: paused by SIGUSR1" "$DIR/a.log" | sed 's/^[^0-9]*//' | tod)
  client_at=$(grep -m1 "paused (paused by SIGUSR1)" "$DIR/client.log" | sed 's/^[^0-9]*//' | tod)
  load=$(cut -d' ' -f1 /proc/loadavg)
  python3 - "$DIR/report.json" "$A" "$B" "$round" "$T0" "$node_at" "$client_at" "$load" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
a, b = sys.argv[2], sys.argv[3]
rows = {n["name"]: n for n in rep["nodes"]}
t0, node_at, client_at = map(float, sys.argv[5:8])
print(f'{sys.argv[4]:>5}  {node_at - t0:16.3f}  {client_at - t0:17.3f}  '
      f'{rows[a]["stolen_from"]:10d}  {rows[b]["backups_won"]:11d}  '
      f'{rows[a].get("paused_seconds", 0):10.2f}  {rep["batch"]["wall_seconds"]:6.2f}  {sys.argv[8]}')
PY
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  PIDS=()
  rm -f "$DIR"/*.port
done
