#!/usr/bin/env bash
# bench/memory.sh -- the driver's memory for many trivial jobs (see bench/README.md).
#
#   bench/memory.sh [--build-dir DIR] [--jobs N] [--stream] [--quick]
#
# Runs `ppclient run` of a script with local workers (pp.server{ ncpus = 2 }) that
# submits N trivial jobs x -> x + 1 at once (default 1,000,000), keeps every handle,
# then collects them all. Prints the driver's own peak RSS (VmHWM of the ppclient
# process, read by the script at the end, so the embedded node is not in it), the
# node's peak RSS (its VmHWM, read before the cluster closes), bytes per job over the
# driver's start, and the wall time.
# --stream: instead, N jobs with at most 2,000 in flight, each result consumed as it
# comes; prints the driver's RSS every N/10 jobs (it should level off).
# --quick: 100,000 jobs (a smoke test of the script, not the target's figure).
# The last line is one JSON object for bench/run.sh: peak_rss_mb (the driver's),
# node_peak_rss_mb, bytes_per_job, wall_s, jobs.

set -u -o pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD_DIR="$ROOT/build"
JOBS=1000000
MODE=batch
bench_options "memory.sh: usage: bench/memory.sh [--build-dir DIR] [--jobs N] [--stream] [--quick]" \
  --build-dir=@BUILD_DIR --jobs=JOBS --stream=MODE:stream --quick=JOBS:100000 -- "$@"
bench_need "$BUILD_DIR" ppclient
PPCLIENT="$BUILD_DIR/bin/ppclient"

bench_workdir pp-memory
WORK=$OUT
cat > "$WORK/memory.lua" <<'LUA'
local pp = require "pp"
local n, mode, figures = tonumber(arg[1]), arg[2], arg[3]

-- VmHWM and VmRSS of a process, in KB.
local function mem(pid)
  local f = io.open("/proc/" .. pid .. "/status")
  if not f then return 0, 0 end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")), tonumber(s:match("VmRSS:%s*(%d+)"))
end
-- The embedded node: this process's child running ppserver.
local function node_pid()
  local self = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")
  local p = io.popen("pgrep -P " .. self .. " -x ppserver")
  local pid = p:read("*l")
  p:close()
  return pid
end

local js = pp.server{ ncpus = 2 }
local inc = function(x) return x + 1 end
local _, start_kb = mem("self")
local t0 = os.clock()
local sum = 0
if mode == "stream" then
  local window, first, last = {}, 1, 0
  local step = math.max(1, math.floor(n / 10))
  for i = 1, n do
    last = last + 1
    window[last] = js:submit(inc, {i})
    if last - first + 1 >= 2000 then
      sum = sum + window[first]()
      window[first] = nil
      first = first + 1
    end
    if i % step == 0 then
      local _, rss = mem("self")
      print(string.format("  after %8d jobs: driver RSS %7.1f MB", i, rss / 1024))
    end
  end
  for i = first, last do sum = sum + window[i]() end
else
  local jobs = {}
  for i = 1, n do jobs[i] = js:submit(inc, {i}) end
  for i = 1, n do sum = sum + jobs[i]() end
end
local expect = n * (n + 1) / 2 + n
if sum ~= expect then error(string.format("sum %.0f, expected %.0f", sum, expect)) end
local hwm = mem("self")
local node_hwm = mem(node_pid() or "none")
print(string.format("driver peak RSS %.1f MB (%.0f bytes per job over its start of %.1f MB)",
  hwm / 1024, (hwm - start_kb) * 1024 / n, start_kb / 1024))
print(string.format("embedded node peak RSS %.1f MB (not in the driver's figure)", node_hwm / 1024))
local f = assert(io.open(figures, "w"))
f:write(string.format('"peak_rss_mb": %.1f, "node_peak_rss_mb": %.1f, "bytes_per_job": %.0f',
  hwm / 1024, node_hwm / 1024, (hwm - start_kb) * 1024 / n))
f:close()
LUA

echo "memory: $JOBS trivial jobs ($MODE), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$EPOCHREALTIME
"$PPCLIENT" run "$WORK/memory.lua" "$JOBS" "$MODE" "$WORK/figures" || exit 1
t1=$EPOCHREALTIME
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "wall %.1f s\n", b - a }'
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
printf '{"mode": "%s", "jobs": %d, %s, "wall_s": %s}\n' "$MODE" "$JOBS" "$(cat "$WORK/figures")" "$wall"
