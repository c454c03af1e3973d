#!/usr/bin/env bash
# Three nodes `ppserver -w 2 -a` in h1..h3 and a client in h4 with no address: it finds
# all three within a second by UDP broadcast, and a batch runs with every node contributing.
source "$(dirname "$0")/common.sh"
lab_up 4
for h in h1 h2 h3; do start_node "$h" --no-mdns; done
for h in h1 h2 h3; do wait_log "$OUT/$h.log" "announcing" 10 || fail "$h did not start announcing"; done
run_client h4 client "$BIN/ppclient" run "$SRC/tests/lab/driver.lua" 150 20 3 || fail "client failed"
cat "$OUT/client.log"
secs=$(sed -n 's/^found 3 nodes in \([0-9.]*\) s$/\1/p' "$OUT/client.log")
[[ -n $secs ]] || fail "the client did not find 3 nodes"
awk -v s="$secs" 'BEGIN { exit !(s < 1.0) }' || fail "finding 3 nodes took $secs s (limit 1 s)"
grep -q "results: 150 of 150 correct" "$OUT/client.log" || fail "wrong or missing results"
[[ $(grep -c "^node .* jobs [1-9]" "$OUT/client.log") -eq 3 ]] || fail "not every node contributed"
echo "PASS: found 3 nodes in $secs s by broadcast; all contributed"
