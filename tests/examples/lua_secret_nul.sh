#!/usr/bin/env bash
# A secret with a NUL byte, given to pp.server{secret = ...} in Lua, is used whole: a
# node reading the same bytes from its secret file serves the client, and a client
# holding only the bytes before the NUL (what the Lua module used to pass on) is refused.
set -euo pipefail
BIN=$1
DIR=$(mktemp -d /tmp/pp-secret-nul-XXXXXX)
NODE=""
cleanup() {
  [[ -n $NODE ]] && kill "$NODE" 2>/dev/null && wait "$NODE" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
printf 'pp-secret\000with-a-nul-byte' > "$DIR/secret"
chmod 600 "$DIR/secret"
[[ $(wc -c < "$DIR/secret") -eq 25 ]]
"$BIN/ppserver" -i 127.0.0.1 -p 0 -w 1 --secret-file "$DIR/secret" --report-fd 3 \
  3> "$DIR/port" > "$DIR/node.log" 2>&1 &
NODE=$!
for _ in $(seq 1 100); do
  [[ -s $DIR/port ]] && break
  sleep 0.1
done
PORT=$(tr -dc '0-9' < "$DIR/port")
[[ -n $PORT ]] || { echo "the node did not start"; cat "$DIR/node.log"; exit 1; }
cat > "$DIR/driver.lua" <<LUA
local pp = require "pp"
local function run(secret)
  local js = pp.server{ ppservers = { "127.0.0.1:$PORT" }, secret = secret, no_node_timeout = 10 }
  local v, err = js:submit(function(x) return x * 2 end, { 21 }):result()
  js:destroy()
  return v, err
end
local v, err = run("pp-secret\0with-a-nul-byte")
assert(v == 42, "the whole secret was refused: " .. tostring(err))
print("whole secret: served")
v, err = run("pp-secret")
assert(v == nil and tostring(err):find("secret", 1, true), "the cut secret was accepted")
print("cut secret: refused")
LUA
"$BIN/ppclient" run "$DIR/driver.lua"
echo "lua secret with a NUL byte: all ok"
