#!/usr/bin/env bash
# The same as discovery_broadcast, with broadcast turned off on both sides: three nodes
# publish _ppserver._tcp through their hosts' avahi-daemons, and a client in h4 finds
# them by browsing mDNS alone, then runs a batch on all of them.
source "$(dirname "$0")/common.sh"
lab_up 4 --avahi
for h in h1 h2 h3; do start_node "$h" --no-broadcast; done
for h in h1 h2 h3; do wait_log "$OUT/$h.log" "listening" 10 || fail "$h did not start"; done
PP_DISCOVERY=mdns run_client h4 client "$BIN/ppclient" run "$SRC/tests/lab/driver.lua" 150 20 3 \
  || fail "client failed"
cat "$OUT/client.log"
secs=$(sed -n 's/^found 3 nodes in \([0-9.]*\) s$/\1/p' "$OUT/client.log")
[[ -n $secs ]] || fail "the client did not find 3 nodes through mDNS"
grep -q "results: 150 of 150 correct" "$OUT/client.log" || fail "wrong or missing results"
[[ $(grep -c "^node .* jobs [1-9]" "$OUT/client.log") -eq 3 ]] || fail "not every node contributed"
! grep -q "announcing on UDP" "$OUT"/h?.log || fail "a node announced by broadcast"
PP_DISCOVERY=mdns run_client h4 nodes "$BIN/ppclient" nodes --wait 3 || fail "ppclient nodes failed"
cat "$OUT/nodes.log"
[[ $(grep -c " mdns " "$OUT/nodes.log") -eq 3 ]] || fail "ppclient nodes does not show 3 nodes found by mdns"
echo "PASS: found 3 nodes in $secs s through Avahi alone; all contributed"
