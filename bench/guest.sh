#!/usr/bin/env bash
# The busy policy end to end (issue 15): two nodes of 2 workers on loopback run a batch of
# JOBS jobs of SECONDS CPU seconds each; node A has --pause-when-busy PCT --pause-grace GRACE
# --pause-min MIN. Once both are busy, a CPU hog of every core starts beside them (processes
# that are not the node's, at the owner's priority); it ends HOLD seconds after A paused.
# Prints, per round: the grace period, the time from the hog's start to A's "paused" line and
# to the client's handling of PAUSE, the time from the hog's end to A's "resumed" line, the
# jobs taken back from A and the backup copies that won on B (the jobs moved), A's paused
# seconds in the report, and the batch's wall time. Every job's value is checked by the driver.
# On one machine node B's workers are "other processes" to A: B runs with --cpu-limit 25 so
# that, A paused and the hog gone, they do not keep A paused by themselves. The nodes keep
# the default --nice 10, as a desktop's node would, so the hog gets the CPU it asks for.
# The batch starts only once A's samples (its -d log) show other processes under PCT less
# its margin for 3 s: on a machine that other users keep busier than that for CALM_WAIT
# seconds (120), the round is reported as skipped.
#   bench/guest.sh [--build-dir DIR] [--repeat N] [--jobs N] [--seconds S] [--grace S]
#                  [--min S] [--percent PCT] [--hold S] [--calm-wait S]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
REPEAT=3 JOBS=80 SECONDS_PER_JOB=0.5 GRACE=3 MIN=5 PERCENT=70 HOLD=3 CALM_WAIT=120
USAGE="usage: bench/guest.sh [--build-dir DIR] [--repeat N] [--jobs N] [--seconds S] [--grace S]
                      [--min S] [--percent PCT] [--hold S] [--calm-wait S]"
while (($#)); do
  case $1 in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --seconds) SECONDS_PER_JOB=$2; shift 2 ;;
    --grace) GRACE=$2; shift 2 ;;
    --min) MIN=$2; shift 2 ;;
    --percent) PERCENT=$2; shift 2 ;;
    --hold) HOLD=$2; shift 2 ;;
    --calm-wait) CALM_WAIT=$2; shift 2 ;;
    *) echo "$USAGE" >&2; exit 2 ;;
  esac
done
for b in ppserver ppclient; do
  [[ -x "$BUILD/bin/$b" ]] || { echo "bench/guest.sh: $BUILD/bin/$b missing; build first" >&2; exit 2; }
done
DIR=$(mktemp -d /tmp/pp-guest-bench-XXXXXX)
PIDS=()
HOG=()
stop_all() {
  for p in "${HOG[@]}" "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  HOG=() PIDS=()
}
trap 'stop_all; rm -rf "$DIR"' EXIT
export PP_SECRET=guest-bench-secret

# tod / now_tod: the log lines' times.
. "$ROOT/bench/lib.sh"
# wait_line FILE TEXT SECONDS [SKIP]: the time of day of FILE's first line holding TEXT
# after the first SKIP such lines.
wait_line() {
  local end=$((SECONDS + $3)) skip=${4:-0} line
  while ((SECONDS < end)); do
    line=$(grep -- "$2" "$1" 2>/dev/null | sed -n "$((skip + 1))p")
    if [[ -n $line ]]; then
      sed 's/^[^0-9]*//' <<< "$line" | tod; return 0
    fi
    sleep 0.05
  done
  echo "bench/guest.sh: no '$2' in $1 after $3 s" >&2; return 1
}

# calm LOG SECONDS: until the node's last 3 busy samples are under CALM % (PCT less the
# policy's resume margin) and it is not paused; false after SECONDS.
CALM=$(awk -v p="$PERCENT" 'BEGIN { m = p / 2 < 10 ? p / 2 : 10; print p - m }')
calm() {
  local end=$((SECONDS + $2))
  while ((SECONDS < end)); do
    if grep "busy sample" "$1" | tail -3 | awk -v c="$CALM" '
         { sub(/.*other processes /, ""); if ($1 + 0 >= c) bad = 1; n++ }
         END { exit !(n == 3 && !bad) }' \
       && (( $(grep -c "paused:" "$1" || true) == $(grep -c "resumed after" "$1" || true) )); then
      return 0
    fi
    sleep 0.2
  done
  return 1
}


echo "grace ${GRACE} s, limit ${PERCENT} %, shortest pause ${MIN} s, hog held ${HOLD} s after the pause"
echo "round  grace_s  to_paused_s  to_client_s  to_resumed_s  taken_back  backups_won  a_paused_s  wall_s  load"
for round in $(seq 1 "$REPEAT"); do
  rm -f "$DIR"/*.port "$DIR"/*.log "$DIR/started"
  "$BUILD/bin/ppserver" -i 127.0.0.1 -p 0 -w 2 -d --report-fd 3 --pause-when-busy "$PERCENT" \
    --pause-grace "$GRACE" --pause-min "$MIN" 3> "$DIR/a.port" 2> "$DIR/a.log" &
  PIDS+=($!)
  "$BUILD/bin/ppserver" -i 127.0.0.1 -p 0 -w 2 --cpu-limit 25 --report-fd 3 \
    3> "$DIR/b.port" 2> "$DIR/b.log" &
  PIDS+=($!)
  for name in a b; do
    for _ in $(seq 1 300); do [[ -s $DIR/$name.port ]] && break; sleep 0.05; done
  done
  A=127.0.0.1:$(tr -dc '0-9' < "$DIR/a.port")
  B=127.0.0.1:$(tr -dc '0-9' < "$DIR/b.port")
  if ! calm "$DIR/a.log" "$CALM_WAIT"; then
    printf '%5s  skipped: other processes over %s %% of the machine for %s s (last sample %s %%)\n' \
      "$round" "$CALM" "$CALM_WAIT" "$(grep "busy sample" "$DIR/a.log" | tail -1 | sed 's/.*other processes \([0-9]*\).*/\1/')"
    stop_all; continue
  fi
  NODE_A=$A NODE_B=$B JOBS=$JOBS SECONDS_PER_JOB=$SECONDS_PER_JOB STARTED=$DIR/started \
    "$BUILD/bin/ppclient" run --no-echo --report "$DIR/report.json" "$ROOT/bench/spin_batch.lua" \
    > "$DIR/client.out" 2> "$DIR/client.log" &
  CLIENT=$!
  for _ in $(seq 1 600); do [[ -e $DIR/started ]] && break; sleep 0.05; done
  sleep $(awk -v s="$SECONDS_PER_JOB" 'BEGIN { print s * 1.5 }')   # both nodes busy
  skip_a=$(grep -c "paused: other processes use" "$DIR/a.log" || true)
  skip_c=$(grep -c "paused (other processes use" "$DIR/client.log" || true)
  if ((skip_a > 0)); then
    printf '%5s  skipped: other processes paused A before the hog\n' "$round"
    kill "$CLIENT" 2>/dev/null; wait "$CLIENT" 2>/dev/null || true
    stop_all; continue
  fi
  note=""
  T0=$(now_tod)
  for _ in $(seq 1 "$(nproc)"); do sh -c 'while :; do :; done' & HOG+=($!); done
  paused_at=$(wait_line "$DIR/a.log" "paused: other processes use" 120 "$skip_a")
  client_at=$(wait_line "$DIR/client.log" "paused (other processes use" 30 "$skip_c")
  sleep "$HOLD"
  for p in "${HOG[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
  HOG=()
  T1=$(now_tod)
  resumed_at=$(wait_line "$DIR/a.log" "resumed after" 300 "$(grep -c "resumed after" "$DIR/a.log" || true)")
  wait "$CLIENT" || { cat "$DIR/client.log"; echo "bench/guest.sh: the batch failed" >&2; exit 1; }
  grep -q "all $JOBS results correct" "$DIR/client.out"
  load=$(cut -d' ' -f1 /proc/loadavg)
  python3 - "$DIR/report.json" "$A" "$B" "$round" "$GRACE" "$T0" "$paused_at" "$client_at" \
    "$T1" "$resumed_at" "$load" "$note" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
a, b = sys.argv[2], sys.argv[3]
rows = {n["name"]: n for n in rep["nodes"]}
t0, paused, client, t1, resumed = map(float, sys.argv[6:11])
print(f'{sys.argv[4]:>5}  {float(sys.argv[5]):7.1f}  {paused - t0:11.3f}  {client - t0:11.3f}  '
      f'{resumed - t1:12.3f}  {rows[a]["stolen_from"]:10d}  {rows[b]["backups_won"]:11d}  '
      f'{rows[a].get("paused_seconds", 0):10.2f}  {rep["batch"]["wall_seconds"]:6.2f}  '
      f'{sys.argv[11]}{sys.argv[12]}')
PY
  stop_all
done
