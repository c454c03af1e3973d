#!/usr/bin/env bash
# `ppclient run`'s options reach every cluster the script makes: --report FILE is
# written when the cluster closes, also when the script ends with os.exit, and
# --discover makes a script that names no node look for nodes instead of starting
# local workers. Discovery stays on loopback (broadcast to 127.0.0.1, no mDNS).
set -euo pipefail
BIN=$1
DIR=$(mktemp -d /tmp/pp-run-options-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/exit.lua" <<'LUA'
local pp = require "pp"
local js = pp.server{ ncpus = 1 }
assert(js:submit(function(x) return x + 1 end, { 41 })() == 42)
os.exit(3)
LUA
status=0
"$BIN/ppclient" run --report "$DIR/exit.json" "$DIR/exit.lua" || status=$?
[ "$status" -eq 3 ] || { echo "exit status $status, expected 3"; exit 1; }
grep -q '"ppcluster-report"' "$DIR/exit.json" || { echo "no report written on os.exit"; exit 1; }
grep -q '"jobs_done": 1' "$DIR/exit.json" || { echo "the report does not count the job"; exit 1; }
cat > "$DIR/discover.lua" <<'LUA'
local pp = require "pp"
local js = pp.server{ no_node_timeout = 1 }
local v, err = js:submit(function() return 1 end):result()
if arg[1] == "discover" then
  assert(v == nil and tostring(err):find("none found by discovery", 1, true), tostring(err))
  assert(js:get_ncpus() == 0, "local workers started under --discover")
else
  assert(v == 1, tostring(err))
end
print("discover.lua: " .. arg[1])
LUA
export PP_DISCOVERY=broadcast PP_BROADCAST=127.0.0.1
"$BIN/ppclient" run --discover "$DIR/discover.lua" discover
"$BIN/ppclient" run "$DIR/discover.lua" local
echo "run options: all ok"
