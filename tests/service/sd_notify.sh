#!/usr/bin/env bash
# ppserver under a Type=notify unit, with systemd played by this test: $NOTIFY_SOCKET names a
# datagram socket that notify_listen reads, $JOURNAL_STREAM names the file the node's stderr
# goes to. The node says READY=1 once it listens, with STATUS= naming where it serves and its
# workers; STATUS= follows a running job and a pause (SIGUSR1 / SIGUSR2); SIGTERM brings STOPPING=1 with the reason; and its
# log lines carry the journal's priority prefixes (<6> info) instead of the time.
#   sd_notify.sh BIN_DIR NOTIFY_LISTEN
set -euo pipefail
BIN=$1
LISTEN=$2
DIR=$(mktemp -d /tmp/pp-notify-XXXXXX)
NODE="" LISTENER=""
cleanup() {
  [[ -n $NODE ]] && kill "$NODE" 2>/dev/null && wait "$NODE" 2>/dev/null || true
  [[ -n $LISTENER ]] && kill "$LISTENER" 2>/dev/null && wait "$LISTENER" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- notifications"; cat "$DIR/notify.log"; echo "--- node log"
         cat "$DIR/node.log"; exit 1; }
# wait_for PATTERN FILE: until a line of FILE matches (the machine may be slow: no deadline
# on speed, only one against hanging).
wait_for() {
  for _ in $(seq 1 1200); do
    grep -qE -- "$1" "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no line matching '$1' in $2"
}

"$LISTEN" "$DIR/notify.sock" > "$DIR/notify.log" &
LISTENER=$!
wait_for '^listening$' "$DIR/notify.log"
: > "$DIR/node.log"
stream=$(stat -c '%d:%i' "$DIR/node.log")
NOTIFY_SOCKET=$DIR/notify.sock JOURNAL_STREAM=$stream \
  "$BIN/ppserver" -i 127.0.0.1 -p 0 -w 1 --report-fd 3 3> "$DIR/port" 2>> "$DIR/node.log" &
NODE=$!
wait_for '^READY=1' "$DIR/notify.log"
PORT=$(tr -dc '0-9' < "$DIR/port")
grep -q "^READY=1 | STATUS=serving on 127.0.0.1:$PORT: 1 worker, 0 clients, 0 jobs running, 0 queued$" \
  "$DIR/notify.log" || fail "READY=1 without the expected STATUS"

# A job that runs until this test has seen it in STATUS=.
cat > "$DIR/job.lua" <<LUA
local pp = require "pp"
local js = pp.server{ ppservers = { "127.0.0.1:$PORT" } }
local job = js:submit(function(flag)
  while not io.open(flag) do end
  return "done"
end, { "$DIR/seen" })
assert(job() == "done")
print("job: done")
LUA
"$BIN/ppclient" run --no-echo "$DIR/job.lua" > "$DIR/client.log" 2>&1 &
CLIENT=$!
wait_for "^STATUS=serving on 127.0.0.1:$PORT: 1 worker, 1 client, 1 job running, 0 queued$" \
  "$DIR/notify.log"
touch "$DIR/seen"
wait "$CLIENT" || { cat "$DIR/client.log"; fail "the client failed"; }
wait_for "^STATUS=serving on 127.0.0.1:$PORT: 1 worker, 0 clients, 0 jobs running, 0 queued$" \
  "$DIR/notify.log"

# SIGUSR1 pauses the node and STATUS= says so at once; SIGUSR2 resumes it.
kill -USR1 "$NODE"
wait_for "^STATUS=paused \(paused by SIGUSR1\): serving on 127.0.0.1:$PORT: 1 worker, 0 clients" \
  "$DIR/notify.log"
kill -USR2 "$NODE"
for _ in $(seq 1 1200); do
  tail -n 1 "$DIR/notify.log" | grep -q "^STATUS=serving on 127.0.0.1:$PORT: 1 worker, 0 clients" &&
    break
  sleep 0.1
done
tail -n 1 "$DIR/notify.log" | grep -q "^STATUS=serving on" || fail "STATUS= still paused"

kill -TERM "$NODE"
wait "$NODE" || fail "ppserver exited with $? after SIGTERM"
NODE=""
grep -q "^STOPPING=1 | STATUS=shutting down: signal Terminated$" "$DIR/notify.log" ||
  fail "no STOPPING=1 with the reason"
[[ $(grep -c "^READY=1" "$DIR/notify.log") -eq 1 ]] || fail "READY=1 more than once"

# The journal's priorities, and no time stamp of our own.
grep -q '^<6>ppserver \[[0-9]*\] info: ppserver .* listening on 127.0.0.1' "$DIR/node.log" ||
  fail "no '<6>' info line"
grep -qE '^[0-9]{2}:[0-9]{2}:' "$DIR/node.log" && fail "a time-stamped line under the journal"
echo "notifications: $(wc -l < "$DIR/notify.log") lines; log lines: $(wc -l < "$DIR/node.log")"
echo "sd_notify: all ok"
