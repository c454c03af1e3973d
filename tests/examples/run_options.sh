#!/usr/bin/env bash
# `ppclient run`'s options reach every cluster the script makes, and everything after
# the script's name reaches the script:
# - SCRIPT ARGS...: `-n 5 --report x` after the name are the script's (`arg` and `...`);
# - --report FILE is written when the cluster closes, also when the script ends with os.exit;
# - --discover makes a script that names no node look for nodes instead of starting
#   local workers (discovery stays on loopback: broadcast to 127.0.0.1, no mDNS);
# - --nodes and -s/--secret-file send the jobs of a script that names a dead node and no
#   secret to a real node with a secret; --journal keeps results a rerun takes back;
# - a bad value exits 2 with a message naming the option, before the script runs.
set -euo pipefail
BIN=$1
DIR=$(mktemp -d /tmp/pp-run-options-XXXXXX)
NODE=""
cleanup() {
  [[ -n $NODE ]] && kill "$NODE" 2>/dev/null && wait "$NODE" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Arguments after the script's name, options among them, are the script's.
cat > "$DIR/args.lua" <<'LUA'
local n = select("#", ...)
print("args: " .. n .. " [" .. table.concat(arg, " ") .. "] first=" .. tostring((...)))
LUA
out=$("$BIN/ppclient" run "$DIR/args.lua" -n 5 --report x --help -- y)
[[ $out == "args: 7 [-n 5 --report x --help -- y] first=-n" ]] || fail "script arguments: $out"
[[ ! -e x ]] || fail "--report after the script name was taken by ppclient"

cat > "$DIR/exit.lua" <<'LUA'
local pp = require "pp"
local js = pp.server{ ncpus = 1 }
assert(js:submit(function(x) return x + 1 end, { 41 })() == 42)
os.exit(3)
LUA
status=0
"$BIN/ppclient" run --report "$DIR/exit.json" "$DIR/exit.lua" || status=$?
[ "$status" -eq 3 ] || fail "exit status $status, expected 3"
grep -q '"ppcluster-report"' "$DIR/exit.json" || fail "no report written on os.exit"
grep -q '"jobs_done": 1' "$DIR/exit.json" || fail "the report does not count the job"

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

# A real node with a secret; the script names a node where nothing listens, and no secret.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/secret"
chmod 600 "$DIR/secret"
"$BIN/ppserver" -i 127.0.0.1 -p 0 -w 1 --secret-file "$DIR/secret" --report-fd 3 \
  3> "$DIR/port" > "$DIR/node.log" 2>&1 &
NODE=$!
for _ in $(seq 1 100); do
  [[ -s $DIR/port ]] && break
  sleep 0.1
done
PORT=$(tr -dc '0-9' < "$DIR/port")
[[ -n $PORT ]] || { cat "$DIR/node.log"; fail "the node did not start"; }
cat > "$DIR/nodes.lua" <<'LUA'
local pp = require "pp"
local js = pp.server{ ppservers = { "127.0.0.1:1" }, no_node_timeout = 5 }
local jobs = {}
for i = 1, 4 do
  jobs[i] = js:submit(function(x, log)
    local f = assert(io.open(log, "a")); f:write(x, "\n"); f:close()
    return x * 2
  end, { i, arg[1] })
end
for i = 1, 4 do
  local v, err = jobs[i]:result()
  assert(v == i * 2, "job " .. i .. ": " .. tostring(err))
  assert(jobs[i].node == arg[2], "job " .. i .. " ran on " .. tostring(jobs[i].node))
end
js:destroy()
print("nodes.lua: 4 jobs on the given node")
LUA
unset PP_SECRET
out=$(HOME=$DIR "$BIN/ppclient" run --no-echo -s "$DIR/secret" --nodes "127.0.0.1:$PORT" \
      --journal "$DIR/batch.ppj" "$DIR/nodes.lua" "$DIR/executions" "127.0.0.1:$PORT" 2>&1) ||
  fail "--nodes with --secret-file: $out"
[[ $(wc -l < "$DIR/executions") -eq 4 ]] || fail "expected 4 executions"
# Without the secret the node refuses the client: the jobs fail, naming the secret.
status=0
out=$(HOME=$DIR "$BIN/ppclient" run --nodes "127.0.0.1:$PORT" "$DIR/nodes.lua" \
      "$DIR/executions" "127.0.0.1:$PORT" 2>&1) || status=$?
[[ $status -eq 1 && $out == *secret* ]] || fail "no secret: status $status: $out"
# The rerun with the same --journal runs nothing again.
out=$(HOME=$DIR "$BIN/ppclient" run --secret-file="$DIR/secret" --nodes="127.0.0.1:$PORT" \
      --journal "$DIR/batch.ppj" "$DIR/nodes.lua" "$DIR/executions" "127.0.0.1:$PORT" 2>&1) ||
  fail "rerun with --journal: $out"
[[ $(wc -l < "$DIR/executions") -eq 4 ]] || fail "the rerun ran journalled jobs again"
[[ $out == *"4 finished jobs from earlier runs"* ]] || fail "the rerun did not read the journal: $out"

# Bad values: exit status 2, the option named, the script not run.
bad() {  # bad OPTION-NAME ARGS...
  local name=$1; shift
  local status=0 err
  err=$("$BIN/ppclient" run "$@" 2>&1 >/dev/null) || status=$?
  [[ $status -eq 2 ]] || fail "ppclient run $*: exit status $status, expected 2 ($err)"
  [[ $err == *"$name"* ]] || fail "ppclient run $*: the message does not name $name: $err"
}
touch "$DIR/empty"
bad --nodes --nodes "host:0" "$DIR/args.lua"
bad --nodes --nodes "host:http" "$DIR/args.lua"
bad --nodes --nodes "," "$DIR/args.lua"
bad --nodes --nodes "[::1" "$DIR/args.lua"
bad --nodes --nodes
bad --secret-file -s "$DIR/missing" "$DIR/args.lua"
bad --secret-file --secret-file "$DIR/empty" "$DIR/args.lua"
bad --journal --journal "$DIR/no/such/dir/j.ppj" "$DIR/args.lua"
bad --report --report "$DIR/no/such/dir/r.json" "$DIR/args.lua"
bad --bogus --bogus "$DIR/args.lua"
bad "give the script" --discover
echo "run options: all ok"
