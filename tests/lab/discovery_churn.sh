#!/usr/bin/env bash
# Nodes come and go mid-batch: a node started mid-batch receives jobs, a node stopped
# cleanly leaves at once, a node killed with kill -9 is noticed and its jobs complete
# elsewhere. Every job yields exactly one correct result.
source "$(dirname "$0")/common.sh"
lab_up 4
start_node h1 --no-mdns
start_node h2 --no-mdns
for h in h1 h2; do wait_log "$OUT/$h.log" "announcing" 10 || fail "$h did not start"; done
"$LABSH" exec "$LAB" h4 -- "$BIN/ppclient" run "$SRC/tests/lab/driver.lua" 600 20 2 \
  > "$OUT/client.log" 2>&1 &
client=$!
PIDS+=("$client")
wait_log "$OUT/client.log" "found 2 nodes" 10 || fail "the client did not find h1 and h2"
sleep 0.8
start_node h3 --no-mdns                      # joins mid-batch
wait_log "$OUT/h3.log" "client .* connected" 5 || fail "h3 was not used mid-batch"
sleep 0.8
kill -TERM "${NODE_PID[h2]}"                   # clean stop: says BYE
wait_log "$OUT/client.log" "node left" 3 || fail "the client did not see h2 leave"
sleep 0.5
kill -9 "${NODE_PID[h1]}"                      # crash
wait "$client" || fail "client failed"
cat "$OUT/client.log"
grep -q "results: 600 of 600 correct" "$OUT/client.log" || fail "wrong or missing results"
h3addr=$(sed -n 's/^h3=//p' "$OUT/lab.info")
grep -q "^node $h3addr:60000 jobs [1-9]" "$OUT/client.log" || fail "h3 did no jobs"
grep -Eq "jobs sent elsewhere" "$OUT/client.log" || fail "no jobs were requeued from the dead node"
echo "PASS: late node used, clean stop and kill -9 survived, 600/600 results"
