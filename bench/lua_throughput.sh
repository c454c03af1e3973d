#!/usr/bin/env bash
# bench/lua_throughput.sh -- trivial jobs through the Lua API, with whole-process CPU.
#
#   bench/lua_throughput.sh [--build-dir DIR] [--jobs N] [--repeat R]
#
# Submits N jobs `x -> x + 1` one call at a time from a Lua driver (`ppclient run`),
# then collects them, R times each and interleaved: with the embedded local node
# (2 workers) and with a separate `ppserver -w 2` on 127.0.0.1. Prints, per run, the
# jobs per second of submit-to-last-result and the CPU microseconds per job summed
# over every process: the driver, the node and its workers (user + system).
#   embedded: the driver's own figures plus its reaped children (the node reaps its
#             workers, the driver its node), from wait4's rusage (/usr/bin/time).
#   separate: the driver as above, plus the node and its workers from
#             /proc/PID/stat before and after (they outlive the run).
# Then the median of each. All traffic stays on 127.0.0.1.
set -u -o pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD_DIR="$ROOT/build"
JOBS=100000
REPEAT=3
bench_options "usage: $0 [--build-dir DIR] [--jobs N] [--repeat R]" \
  --build-dir=@BUILD_DIR --jobs=JOBS --repeat=REPEAT -- "$@"
bench_need "$BUILD_DIR" ppserver ppclient
BIN="$BUILD_DIR/bin"
TICK=$(getconf CLK_TCK)
bench_workdir pp-lua-throughput
WORK=$OUT
NODE_PID=""

# The driver: prints "<jobs/s>" on stderr's last line.
cat > "$WORK/driver.lua" <<'EOF'
local ffi = require "ffi"
ffi.cdef[[ typedef struct { long s; long ns; } bench_ts; int clock_gettime(int, bench_ts*); ]]
local ts = ffi.new("bench_ts")
local function now() ffi.C.clock_gettime(1, ts); return tonumber(ts.s) + tonumber(ts.ns) * 1e-9 end
local pp = require "pp"
local n, server = tonumber(arg[1]), arg[2]
local js = server and pp.server{ ppservers = { server }, ncpus = 0 } or pp.server{ ncpus = 2 }
if server then while next(js:get_active_nodes()) == nil do end end
local jobs = {}
local t0 = now()
for i = 1, n do jobs[i] = js:submit(function(x) return x + 1 end, { i }) end
local sum = 0
for i = 1, n do sum = sum + jobs[i]() end
local t1 = now()
assert(sum == n * (n + 1) / 2 + n, "wrong sum")
io.stderr:write(string.format("%.0f\n", n / (t1 - t0)))
EOF

# CPU seconds of a process and its threads (utime + stime), 0 when gone.
cpu_of() {
  local f="/proc/$1/stat"
  [ -r "$f" ] || { echo 0; return; }
  awk -v t="$TICK" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "$f"
}
node_tree_cpu() {
  local total
  total=$(cpu_of "$NODE_PID")
  for c in $(cat "/proc/$NODE_PID/task/"*/children 2>/dev/null); do
    total=$(echo "$total + $(cpu_of "$c")" | bc -l)
  done
  echo "$total"
}

run_one() {  # kind -> prints "jobs_per_s cpu_us_per_job"
  local kind=$1 extra=() before=0 after=0
  if [ "$kind" = separate ]; then
    extra=("127.0.0.1:$PORT")
    before=$(node_tree_cpu)
  fi
  /usr/bin/time -f "%U %S" -o "$WORK/time" "$BIN/ppclient" run "$WORK/driver.lua" "$JOBS" \
    "${extra[@]}" > /dev/null 2> "$WORK/err" || { echo "run failed:" >&2; cat "$WORK/err" >&2; return 1; }
  [ "$kind" = separate ] && after=$(node_tree_cpu)
  local rate driver
  rate=$(tail -n 1 "$WORK/err")
  driver=$(awk '{ print $1 + $2 }' "$WORK/time")
  echo "$rate $(echo "($driver + $after - $before) * 1000000 / $JOBS" | bc -l)"
}

# The separate node: its port from --report-fd; no secret, so loopback only.
exec 3> "$WORK/port"
"$BIN/ppserver" -w 2 -i 127.0.0.1 -p 0 --report-fd 3 > "$WORK/node.log" 2>&1 &
NODE_PID=$!
bench_track "$NODE_PID"
exec 3>&-
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(head -n 1 "$WORK/port")
[ -n "$PORT" ] || { echo "the node did not start" >&2; cat "$WORK/node.log" >&2; exit 1; }

echo "# $JOBS trivial jobs through the Lua API, 2 workers; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %12s %14s\n' kind jobs/s cpu_us/job
: > "$WORK/embedded"; : > "$WORK/separate"
for r in $(seq "$REPEAT"); do
  for kind in embedded separate; do
    line=$(run_one "$kind") || exit 1
    echo "$line" >> "$WORK/$kind"
    printf '%-9s %12.0f %14.1f\n' "$kind" $line
  done
done
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for kind in embedded separate; do
  printf '%-9s %12.0f %14.1f   (median of %s)\n' "$kind" \
    "$(cut -d' ' -f1 "$WORK/$kind" | median)" "$(cut -d' ' -f2 "$WORK/$kind" | median)" "$REPEAT"
done
