#!/usr/bin/env bash
# `ppclient run --dashboard` on loopback: no token is asked for; the page, its files and
# /api/status are served while the batch runs, and the final state during
# --dashboard-linger. Bad values are refused naming the option, from the command line and
# from pp.server{...}; a port already taken is refused naming the address.
set -euo pipefail
BIN=$1
DIR=$(mktemp -d)
PID=""
LISTENER=""
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null
  [[ -n $LISTENER ]] && kill "$LISTENER" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect_refused TEXT ARGS...: ppclient ARGS fails with exit status 2 or 1 and says TEXT.
expect_refused() {
  local want=$1 rc=0
  shift
  "$BIN/ppclient" "$@" > "$DIR/out" 2>&1 || rc=$?
  ((rc != 0)) || fail "accepted: ppclient $*"
  grep -qF -- "$want" "$DIR/out" || { cat "$DIR/out"; fail "no \"$want\" from: ppclient $*"; }
}
echo 'print("ran")' > "$DIR/noop.lua"
expect_refused "--dashboard 'nonsense' has no port number" run --dashboard nonsense "$DIR/noop.lua"
expect_refused "port out of range" run --dashboard 127.0.0.1:70000 "$DIR/noop.lua"
expect_refused "does not start with an IP address" run --dashboard host.example:80 "$DIR/noop.lua"
expect_refused "--dashboard-linger" run --dashboard 0 --dashboard-linger -1 "$DIR/noop.lua"
expect_refused "--dashboard-linger" run --dashboard 0 --dashboard-linger soon "$DIR/noop.lua"
expect_refused "--dashboard-linger requires --dashboard" run --dashboard-linger 5 "$DIR/noop.lua"
grep -q "ran" "$DIR/out" && fail "a refused run ran its script"

# pp.server{...}: the same checks, and a taken port.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(120)' > "$DIR/port" &
LISTENER=$!
for _ in $(seq 50); do [[ -s $DIR/port ]] && break; sleep 0.1; done
TAKEN=$(cat "$DIR/port")
cat > "$DIR/options.lua" <<LUA
local pp = require "pp"
local function refused(opts, want)
  local ok, err = pcall(pp.server, opts)
  assert(not ok, "accepted: " .. want)
  assert(tostring(err):find(want, 1, true), "wanted '" .. want .. "', got: " .. tostring(err))
end
refused({ ncpus = 1, dashboard = true }, "dashboard must be \"[address:]port\"")
refused({ ncpus = 1, dashboard = "x:y" }, "pp.server: dashboard 'x:y' has no port number")
refused({ ncpus = 1, dashboard = "0", dashboard_linger = -1 }, "dashboard_linger must be")
refused({ ncpus = 1, dashboard = "127.0.0.1:$TAKEN" }, "cannot listen on 127.0.0.1:$TAKEN")
print("options refused")
LUA
"$BIN/ppclient" run "$DIR/options.lua" > "$DIR/options.out" 2>&1 || { cat "$DIR/options.out"; fail "pp.server{...} checks"; }
grep -q "options refused" "$DIR/options.out" || fail "pp.server{...} checks did not finish"

# A batch with its dashboard on loopback (any free port), kept up 5 s after it ends.
cat > "$DIR/batch.lua" <<'LUA'
local pp = require "pp"
local js = pp.server{ ncpus = 2 }
local function nap(i)
  local ffi = require "ffi"
  pcall(ffi.cdef, "int usleep(unsigned int usec);")
  ffi.C.usleep(100000)
  return i
end
for i = 1, 20 do js:submit(nap, { i }) end
js:wait()
print("batch done")
LUA
"$BIN/ppclient" run --dashboard 127.0.0.1:0 --dashboard-linger 5 "$DIR/batch.lua" \
  > "$DIR/run.out" 2> "$DIR/run.err" &
PID=$!
for _ in $(seq 100); do grep -q "dashboard at" "$DIR/run.err" && break; sleep 0.1; done
URL=$(sed -n 's/^ppclient: dashboard at \(http[^ ]*\)$/\1/p' "$DIR/run.err")
[[ $URL =~ ^http://127\.0\.0\.1:[0-9]+/$ ]] || fail "loopback URL with a token or none: '$URL'"
code() { curl -s -o "$DIR/body" -w "%{http_code}" "$URL$1"; }
[[ $(code "") == 200 ]] && grep -q "<title>ppcluster dashboard</title>" "$DIR/body" || fail "the page"
[[ $(code "dashboard.js") == 200 ]] && grep -q "api/status" "$DIR/body" || fail "dashboard.js"
[[ $(code "dashboard.css") == 200 ]] || fail "dashboard.css"
[[ $(code "nothing.html") == 404 ]] || fail "an unknown file was not 404"
[[ $(code "../CMakeLists.txt") == 404 ]] || fail "a path outside the page was not 404"
# /api/status: valid JSON during the batch, then the final state with all 20 jobs.
final=""
for _ in $(seq 300); do
  [[ $(code "api/status") == 200 ]] || fail "/api/status"
  final=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["nodes"] and s["nodes"][0]["found"] == "local", s["nodes"]
if s["final"]:
    assert s["jobs"]["submitted"] == 20 and s["jobs"]["done"] == 20, s["jobs"]
    assert s["tasks"]["executions"] >= 20 and s["tasks"]["running"] == 0, s["tasks"]
    print("final")' "$DIR/body") || fail "bad /api/status: $(head -c 600 "$DIR/body")"
  [[ $final == final ]] && break
  sleep 0.1
done
[[ $final == final ]] || fail "the final state was never served"
# /api/stream: the final runs, each once from the number given on.
[[ $(code "api/stream?since=0") == 200 ]] || fail "/api/stream"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["final"] and s["seq"] >= 20 and len(s["ended"]) == s["seq"] and s["from"] == 1, s
assert not s["running"], s["running"]
assert all(r[1] == 0 and r[4] >= r[3] for r in s["ended"]), s["ended"]' "$DIR/body" \
  || fail "bad /api/stream: $(head -c 600 "$DIR/body")"
[[ $(code "api/stream?since=-1") == 400 ]] || fail "/api/stream?since=-1 was not refused"
grep -q "batch done" "$DIR/run.out" || fail "the batch did not finish"
grep -q "dashboard stays at $URL for 5.0 s" "$DIR/run.err" || fail "no linger message"
# After the linger the driver exits by itself, and the page is gone.
wait "$PID" || fail "the driver exited with status $?: $(cat "$DIR/run.err")"
PID=""
curl -s -o /dev/null "$URL" && fail "the dashboard still answers after the driver exited"
echo "dashboard cli: all ok"
