#!/usr/bin/env bash
# `ppclient run --report FILE` writes the contribution report when the script's cluster
# closes; `ppclient stats FILE.json` shows it again as the table, or converts it.
set -euo pipefail
BIN=$1
DIR=$(mktemp -d /tmp/pp-report-cli-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/batch.lua" <<'LUA'
local pp = require "pp"
local js = pp.server{ ncpus = 2 }
local function square(x) return x * x end
local ys = js:map(square, { 1, 2, 3, 4, 5, 6, 7, 8 })
assert(ys[8] == 64)
js:destroy()
LUA
"$BIN/ppclient" run --report "$DIR/r.json" "$DIR/batch.lua"
grep -q '"ppcluster-report"' "$DIR/r.json" || { echo "no report written"; exit 1; }
"$BIN/ppclient" stats "$DIR/r.json" > "$DIR/table.txt"
cat "$DIR/table.txt"
grep -q "Job execution statistics" "$DIR/table.txt"
grep -Eq "\(local\) +2 +[0-9.]+ +8 " "$DIR/table.txt" || { echo "table does not show 8 jobs on 2 workers"; exit 1; }
"$BIN/ppclient" stats "$DIR/r.json" --report "$DIR/r.html"
grep -q "<svg" "$DIR/r.html"
"$BIN/ppclient" run --report "$DIR/r.svg" "$DIR/batch.lua"
grep -q "<svg" "$DIR/r.svg"
# Not a report: a clear error, exit status 1.
echo '{"nodes": 3}' > "$DIR/bad.json"
if "$BIN/ppclient" stats "$DIR/bad.json" 2> "$DIR/err.txt"; then echo "bad report accepted"; exit 1; fi
grep -q "is not a ppcluster report" "$DIR/err.txt"
cat "$DIR/err.txt"
echo "report cli: all ok"
