#!/usr/bin/env bash
# Values that stay where they are made (issue 13): a two-stage Lua pipeline whose first
# stage makes a 1 MiB string per item and whose second returns its length, on two
# separate nodes (`ppserver -w 2` on loopback), against the same two stages written as
# futures whose intermediate the driver takes back and sends on (what a pipeline did
# before values stayed on their node). Per round and mode: the intermediate bytes, the
# bytes through the driver (the report's bytes sent to and received from every node,
# which count everything) and their share, and the wall time.
#   bench/locality.sh [--build-dir DIR] [--items N] [--repeat R]
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR="$ROOT/build"
ITEMS=200
REPEAT=3
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --items) ITEMS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    *) echo "usage: $0 [--build-dir DIR] [--items N] [--repeat R]" >&2; exit 2 ;;
  esac
done
BIN="$BUILD_DIR/bin"
for b in ppserver ppclient; do
  [ -x "$BIN/$b" ] || { echo "bench/locality.sh: $BIN/$b missing; build first" >&2; exit 2; }
done
WORK=$(mktemp -d /tmp/pp-locality-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
unset PP_SECRET   # loopback nodes without a secret

cat > "$WORK/driver.lua" <<'EOF'
local pp = require "pp"
local mode, items, a, b = arg[1], tonumber(arg[2]), arg[3], arg[4]
local js = pp.server{ ppservers = { a, b }, ncpus = 0 }
js:wait_for_workers(4)
local now = require("pp.core").now
local function make(i) return string.rep("v", 1048575) .. string.char(65 + i % 26) end
local function length(s) return #s end
local t0, n = now(), 0
if mode == "kept" then
  local pl = js:pipeline{ make, length }
  for out in pl:map(function() n = n + 1; if n <= items then return n end end,
                    { window = 16 }) do
    assert(out == 1048576)
  end
else   -- the driver takes each intermediate and sends it on
  local window, first, second = 16, {}, {}
  for i = 1, items, window do
    for k = i, math.min(items, i + window - 1) do first[k] = js:submit(make, { k }) end
    for k = i, math.min(items, i + window - 1) do second[k] = js:submit(length, { first[k]() }) end
    for k = i, math.min(items, i + window - 1) do assert(second[k]() == 1048576) end
  end
end
local t = now() - t0
local through = 0
for _, s in ipairs(js:get_stats()) do through = through + s.bytes_sent + s.bytes_received end
local intermediate = items * 1048576
print(string.format("%s %d %d %.2f %.2f", mode, intermediate, through,
                    100 * through / intermediate, t))
EOF

start_node() {  # -> its port
  local name=$1
  exec 3> "$WORK/$name.port"
  "$BIN/ppserver" -w 2 -i 127.0.0.1 -p 0 --report-fd 3 > "$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  exec 3>&-
  for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.1; done
  head -n 1 "$WORK/$name.port"
}
start_node a >/dev/null; PORT_A=$(head -n 1 "$WORK/a.port")
start_node b >/dev/null; PORT_B=$(head -n 1 "$WORK/b.port")
[ -n "$PORT_A" ] && [ -n "$PORT_B" ] || { echo "a node did not start" >&2; exit 1; }

echo "# $ITEMS items, 1 MiB intermediates, two nodes of 2 workers on loopback; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %6s %14s %14s %9s %8s\n' mode round intermediate through share wall_s
for r in $(seq "$REPEAT"); do
  for mode in kept driver; do
    line=$("$BIN/ppclient" run "$WORK/driver.lua" "$mode" "$ITEMS" \
           "127.0.0.1:$PORT_A" "127.0.0.1:$PORT_B" 2>>"$WORK/driver.err") || {
      echo "the $mode run failed:" >&2; cat "$WORK/driver.err" >&2; exit 1; }
    read -r m inter through share wall <<< "$line"
    printf '%-8s %6d %14d %14d %8.2f%% %8.2f\n' "$m" "$r" "$inter" "$through" "$share" "$wall"
  done
done
