#!/usr/bin/env bash
# `ppclient stats a.json b.json`: two saved reports side by side per node (the local node
# matched across them), as text and as an HTML page; a comparison asked as .json is a
# usage error; one report alone is shown as before.
set -euo pipefail
BIN=$1
DIR=$(mktemp -d /tmp/pp-stats-compare-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/batch.lua" <<'LUA'
local pp = require "pp"
local js = pp.server{ ncpus = tonumber(arg[1]) }
local function square(x) return x * x end
local list = {}
for i = 1, 40 do list[i] = i end
assert(js:map(square, list)[40] == 1600)
js:destroy()
LUA
"$BIN/ppclient" run --no-progress --report "$DIR/one.json" "$DIR/batch.lua" 1
"$BIN/ppclient" run --no-progress --report "$DIR/two.json" "$DIR/batch.lua" 2
"$BIN/ppclient" stats "$DIR/one.json" "$DIR/two.json" > "$DIR/cmp.txt"
cat "$DIR/cmp.txt"
grep -q "^Nodes across 2 reports" "$DIR/cmp.txt" || { echo "no comparison"; exit 1; }
grep -Eq "^node +one\.json +two\.json$" "$DIR/cmp.txt" || { echo "no column per report"; exit 1; }
# The local node, matched across both: one row, figures in both groups, share 100% each.
[ "$(grep -c "(local)" "$DIR/cmp.txt")" -eq 1 ] || { echo "the local node is not one row"; exit 1; }
grep -Eq "\(local\) .*100\.0% .*100\.0%$" "$DIR/cmp.txt" || { echo "shares missing"; exit 1; }
[ "$(grep -c "^one.json: 40 jobs\|^two.json: 40 jobs" "$DIR/cmp.txt")" -eq 2 ] || { echo "batch lines"; exit 1; }
"$BIN/ppclient" stats "$DIR/one.json" "$DIR/two.json" --report "$DIR/cmp.html"
grep -q "<h1>ppcluster: 2 reports compared" "$DIR/cmp.html" || { echo "no HTML comparison"; exit 1; }
[ "$(grep -c "<svg" "$DIR/cmp.html")" -eq 2 ] || { echo "the HTML page lacks its pictures"; exit 1; }
status=0
"$BIN/ppclient" stats "$DIR/one.json" "$DIR/two.json" --report "$DIR/cmp.json" 2> "$DIR/err" || status=$?
[ "$status" -eq 2 ] || { echo "a comparison as .json: status $status, expected 2"; exit 1; }
grep -q "compared as text or .html" "$DIR/err"
"$BIN/ppclient" stats "$DIR/one.json" | grep -q "Job execution statistics"
echo '{"nodes": 3}' > "$DIR/bad.json"
if "$BIN/ppclient" stats "$DIR/one.json" "$DIR/bad.json" 2> "$DIR/err"; then echo "bad report accepted"; exit 1; fi
grep -q "bad.json is not a ppcluster report" "$DIR/err"
echo "stats compare: all ok"
