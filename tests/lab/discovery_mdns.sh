#!/usr/bin/env bash
# The same as discovery_broadcast, with broadcast turned off on both sides: three nodes
# publish _ppserver._tcp through their hosts' avahi-daemons, and a client in h4 finds
# them by browsing mDNS alone, then runs a batch on all of them. A node paused (SIGUSR1) says
# so in its TXT record at once (paused=1), which `ppclient top` browsing mDNS alone shows,
# and stops saying it when resumed (SIGUSR2).
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
h1addr=$(sed -n 's/^h1=//p' "$OUT/lab.info")
# top_state STATE: until a one-shot `ppclient top` (mDNS alone) shows h1 in STATE (15 s).
top_state() {
  local end=$((SECONDS + 15))
  while ((SECONDS < end)); do
    PP_DISCOVERY=mdns run_client h4 top "$BIN/ppclient" top --wait 1.5 || fail "ppclient top failed"
    grep -Eq "$h1addr:60000 .* $1 +[0-9.]+ +mdns " "$OUT/top.log" && return 0
  done
  return 1
}
kill -USR1 "${NODE_PID[h1]}"
wait_log "$OUT/h1.log" "paused: paused by SIGUSR1" 10 || fail "h1 did not pause"
top_state paused || fail "top (mDNS) did not show h1 paused: $(cat "$OUT/top.log")"
grep -E "$h1addr:60000" "$OUT/top.log"
kill -USR2 "${NODE_PID[h1]}"
wait_log "$OUT/h1.log" "resumed after" 10 || fail "h1 did not resume"
top_state up || fail "top (mDNS) still shows h1 paused: $(cat "$OUT/top.log")"
echo "PASS: found 3 nodes in $secs s through Avahi alone; all contributed; a pause and its end" \
  "reached mDNS browsers"
