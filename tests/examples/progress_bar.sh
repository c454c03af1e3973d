#!/usr/bin/env bash
# The progress bar of `ppclient run`, on a pseudo-terminal (script(1)): drawn while the
# script waits (js:map, js:as_completed, js:wait), redrawn, cleared before the script
# prints again, echoed job output above it (each echoed line starts a fresh line or
# follows the bar's clearing, never mixed into it); nothing when stderr is not a
# terminal, with --no-progress or pp.server{ progress = false }; drawn when asked with
# --progress though stderr is a file.
set -euo pipefail
BIN=$1
DIR=$(mktemp -d /tmp/pp-progress-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/bar.lua" <<'LUA'
local pp = require "pp"
local progress   -- unset: on when stderr is a terminal
if arg[1] == "off" then progress = false end
local js = pp.server{ ncpus = 2, progress = progress }
local function slow(i)
  local ffi = require "ffi"
  pcall(ffi.cdef, "int usleep(unsigned int usec);")
  ffi.C.usleep(150000)
  print("hello from " .. i)
  return i
end
local list = {}
for i = 1, 24 do list[i] = i end
local sum = 0
for _, y in ipairs(js:map(slow, list)) do sum = sum + y end
print("map sum " .. sum)
local jobs = {}
for i = 1, 12 do jobs[i] = js:submit(slow, { i }) end
local n = 0
for _ in js:as_completed(jobs) do n = n + 1 end
print("as_completed " .. n)
for i = 1, 12 do jobs[i] = js:submit(slow, { i }) end
js:wait(jobs)
print("waited")
LUA
run_pty() {   # run_pty OUT ARGS...: ppclient run ARGS under a pseudo-terminal, bytes to OUT
  local out=$1
  shift
  script -qfec "$BIN/ppclient run $*" "$out" > /dev/null
}

# On a terminal: the bar, its redraws, its clearing, echoed lines above it.
run_pty "$DIR/tty.out" "$DIR/bar.lua"
python3 - "$DIR/tty.out" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
CLEAR = "\r\x1b[K"
draws = [m.start() for m in re.finditer(r"\r\[[=> ]*\] \d+/\d+ +\d+%", data)]
assert len(draws) >= 3, "fewer than 3 bar lines: %r" % data[-2000:]
assert "jobs/s" in data and "nodes " in data, "the bar lacks its figures"
for word in ("map sum 300", "as_completed 12", "waited"):
    at = data.index(word)
    before = data[:at]
    # The script prints only after the bar's line was cleared.
    assert before.rfind(CLEAR) > max([d for d in draws if d < at], default=-1), \
        "%s printed while the bar was on the line" % word
    assert before.endswith("\n") or before.endswith(CLEAR), "%s not at a line start" % word
echoes = [m.start() for m in re.finditer(r"\[job \d+ on local\] hello from \d+", data)]
assert len(echoes) == 48, "expected 48 echoed lines, got %d" % len(echoes)
above = 0
for at in echoes:
    before = data[:at]
    assert before.endswith("\n") or before.endswith(CLEAR), "echo mixed into the bar: %r" % before[-200:]
    # Cleared for it and drawn again after it (unless the wait ended meanwhile).
    if before.endswith(CLEAR) and re.match(r"\[job \d+ on local\] hello from \d+\r?\n\r\[",
                                           data[at:at + 400]):
        above += 1
assert above >= 1, "no echoed line went above the bar"
print("tty: %d bar lines, %d echoed lines above the bar" % (len(draws), above))
PY

# The client's warnings go above the bar like echoed output: a job that crashes its
# worker once makes the driver warn mid-batch; the warning starts a line of its own
# (after the bar's clearing or a newline) and the bar is drawn again after it.
cat > "$DIR/warn.lua" <<'LUA'
local pp = require "pp"
local js = pp.server{ ncpus = 2 }
local function slow(i, marker)
  local ffi = require "ffi"
  pcall(ffi.cdef, "int usleep(unsigned int usec);")
  ffi.C.usleep(150000)
  if i == 12 then
    local f = io.open(marker, "r")
    if not f then io.open(marker, "w"):close(); os.exit(3) end
    f:close()
  end
  return i
end
local jobs = {}
for i = 1, 24 do jobs[i] = js:submit(slow, { i, arg[1] }) end
js:wait(jobs)
print("waited")
LUA
run_pty "$DIR/warn.out" "$DIR/warn.lua" "$DIR/crashed.mark"
python3 - "$DIR/warn.out" <<'PY2'
import re, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
CLEAR = "\r\x1b[K"
m = re.search(r"\d\d:\d\d:\d\d\.\d{3} pp \[\d+\] warn: job 12 crashed a worker", data)
assert m, "no warning from the driver: %r" % data[-2000:]
before = data[:m.start()]
assert re.search(r"\r\[[=> ]*\] \d+/\d+", before), "the bar was not drawn before the warning"
assert before.endswith("\n") or before.endswith(CLEAR), "warning mixed into the bar: %r" % before[-200:]
# The bar cleared itself for it (the node's own lines, written by another process, may
# come between the clearing and the warning).
last_draw = [d for d in re.finditer(r"\r\[[=> ]*\] \d+/\d+[^\r\n]*?\x1b\[K", before)][-1]
assert CLEAR in before[last_draw.end():], "the bar not cleared for the warning: %r" % before[-300:]
after = data[m.end():]
line_end = after.index("\n")
assert "\r[" not in after[:line_end], "the bar drawn into the warning's line"
assert re.search(r"\r\[[=> ]*\] \d+/\d+", after[line_end:]), "the bar not drawn again after the warning"
assert "waited" in after
print("warning above the bar")
PY2

# Two servers in one process (two pp.server), and the embedded nodes' own lines: one bar
# for the process, so a warning of either server's, while either waits or after the
# other is gone, goes above the one line; so does what each local node (a ppserver of
# its own, and its workers) says on stderr when jobs 12, 16, 20 and 24 crash their
# workers once each (several, so a line mixed into the bar could not pass by luck), and
# jobs 14, 18 and 22 fail once; each runs again (retries = 1) and the driver says so, in
# a line no node line comes before for the failures.
cat > "$DIR/two.lua" <<'LUA'
local pp = require "pp"
local function slow(i, marker)
  local ffi = require "ffi"
  pcall(ffi.cdef, "int usleep(unsigned int usec);")
  ffi.C.usleep(150000)
  if i >= 12 and i % 4 == 0 then
    marker = marker .. "." .. i
    local f = io.open(marker, "r")
    if not f then io.open(marker, "w"):close(); os.exit(3) end
    f:close()
  elseif i >= 12 and i % 4 == 2 then
    marker = marker .. "." .. i
    local f = io.open(marker, "r")
    if not f then io.open(marker, "w"):close(); error("once") end
    f:close()
  end
  return i
end
local one = pp.server{ ncpus = 2 }
local two = pp.server{ ncpus = 2 }
local function batch(js, marker)
  local jobs = {}
  for i = 1, 24 do jobs[i] = js:submit{ slow, { i, marker }, retries = 1 } end
  js:wait(jobs)
end
batch(one, arg[1] .. ".one")
print("one waited")
one:destroy()
batch(two, arg[1] .. ".two")
print("two waited")
LUA
run_pty "$DIR/two.out" "$DIR/two.lua" "$DIR/crashed"
python3 - "$DIR/two.out" <<'PY3'
import re, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
CLEAR = "\r\x1b[K"
BAR = r"\r\[[=> ]*\] \d+/\d+"
def above(m, what):
    before, after = data[:m.start()], data[m.end():]
    assert before.endswith("\n") or before.endswith(CLEAR), \
        "%s mixed into the bar: %r" % (what, before[-200:])
    line_end = after.index("\n")
    assert "\r[" not in after[:line_end], "the bar drawn into the %s's line" % what
STAMP = r"\d\d:\d\d:\d\d\.\d{3} "
infos = list(re.finditer(STAMP + r"pp \[\d+\] info: job \d+ failed on local[^\n]*", data))
assert len(infos) == 14, "expected 7 retry lines from each server: %r" % data[-3000:]
for m in infos:
    above(m, "driver's line")
    assert re.search(BAR, data[:m.start()]), "no bar before the driver's line"
# The second server's lines come after the first server was destroyed: the line is
# still the log's sink, and the bar is drawn again after them.
assert data.index("one waited") < infos[7].start()
assert re.search(BAR, data[infos[7].end():]), "the bar not drawn again after the line"
# The local nodes' own lines (the ppserver's and its workers'), passed on by the driver.
node_lines = list(re.finditer(STAMP + r"ppserver[^\n\[]*\[\d+\] (warn|error): [^\n]*", data))
assert len(node_lines) >= 8, "not every crash had a line from its node: %r" % data[-3000:]
for m in node_lines:
    above(m, "node's line")
print("two servers: %d lines of the driver's and %d of the nodes' above one bar" %
      (len(infos), len(node_lines)))
PY3

# Not a terminal: nothing on stderr but what the driver logs.
"$BIN/ppclient" run "$DIR/bar.lua" > "$DIR/plain.out" 2> "$DIR/plain.err"
grep -q "waited" "$DIR/plain.out"
if grep -q "jobs/s" "$DIR/plain.err" || grep -q $'\e' "$DIR/plain.err"; then
  echo "a bar on a stderr that is not a terminal"; exit 1
fi
# --progress: drawn though stderr is a file.
"$BIN/ppclient" run --progress "$DIR/bar.lua" > /dev/null 2> "$DIR/forced.err"
grep -q "jobs/s" "$DIR/forced.err" || { echo "--progress drew no bar"; exit 1; }
# --no-progress and progress = false on a terminal: no bar.
run_pty "$DIR/off.out" --no-progress "$DIR/bar.lua"
run_pty "$DIR/off2.out" "$DIR/bar.lua" off
for f in off off2; do
  grep -q "waited" "$DIR/$f.out" || { echo "$f: the script did not finish"; exit 1; }
  if grep -q "jobs/s" "$DIR/$f.out"; then echo "$f: a bar though it was turned off"; exit 1; fi
done
# --progress and --no-progress together: a usage error.
status=0
"$BIN/ppclient" run --progress --no-progress "$DIR/bar.lua" > /dev/null 2>&1 || status=$?
[ "$status" -eq 2 ] || { echo "--progress --no-progress: status $status, expected 2"; exit 1; }
echo "progress bar: all ok"
