#!/usr/bin/env bash
# Dependent jobs and the journal: a dependent's journal key is taken from its arguments
# once its inputs' values are in them, so a rerun of the same batch takes it from the
# journal, and a rerun whose input changed value runs it again with the new value.
# Counts executions through a file every job appends to.
set -euo pipefail
BIN=$1
DIR=$(mktemp -d /tmp/pp-journal-deps-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/batch.lua" <<LUA
local pp = require "pp"
local js = pp.server{ ncpus = 2, journal = "$DIR/batch.ppj" }
local function logged(name, v, log)
  local f = assert(io.open(log, "a"))
  f:write(name, "\n")
  f:close()
  return v
end
local function plus(a, b, log)
  local f = assert(io.open(log, "a"))
  f:write("plus\n")
  f:close()
  return a + b
end
local leaf = tonumber(arg[1])
local a = js:submit(logged, { "a", leaf, "$DIR/executions" })
local b = js:submit(logged, { "b", 100, "$DIR/executions" })
local c = js:submit(plus, { a, b, "$DIR/executions" })
print("result " .. c())
LUA
runs() { grep -c "$1" "$DIR/executions" || true; }
"$BIN/ppclient" run "$DIR/batch.lua" 1 > "$DIR/run1.out" 2> "$DIR/run1.err"
grep -q "result 101" "$DIR/run1.out"
[[ $(runs plus) -eq 1 ]]
# The same batch again: everything from the journal, nothing runs.
"$BIN/ppclient" run "$DIR/batch.lua" 1 > "$DIR/run2.out" 2> "$DIR/run2.err"
grep -q "result 101" "$DIR/run2.out"
[[ $(wc -l < "$DIR/executions") -eq 3 ]] || { echo "the rerun ran jobs again"; cat "$DIR/executions"; exit 1; }
grep -q "3 results taken from it" "$DIR/run2.err" || { cat "$DIR/run2.err"; exit 1; }
# The leaf changed: it runs, and so does the dependent, with the new value.
"$BIN/ppclient" run "$DIR/batch.lua" 2 > "$DIR/run3.out" 2> "$DIR/run3.err"
grep -q "result 102" "$DIR/run3.out" || { echo "stale dependent"; cat "$DIR/run3.out"; exit 1; }
[[ $(runs plus) -eq 2 && $(runs '^b') -eq 1 ]] || { cat "$DIR/executions"; exit 1; }
echo "journal with dependencies: all ok"
