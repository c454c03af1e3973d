#!/usr/bin/env bash
# `ppclient top` in the LAN: on a terminal (script(1) gives it one) in h3 it shows h1's
# node as it announces itself, then h2's node when it starts, and h1's as "left" once it
# stops cleanly (its goodbye beacon). It holds the secret ($PP_SECRET), so it asks each node
# who uses it: a batch from h4 on h2 shows under h2 as a client (h4's address, jobs queued
# and running), and top itself never does. Not on a terminal, it prints one table and exits.
source "$(dirname "$0")/common.sh"
lab_up 4
export PP_DISCOVERY=broadcast
h1addr=$(sed -n 's/^h1=//p' "$OUT/lab.info")
h2addr=$(sed -n 's/^h2=//p' "$OUT/lab.info")
h4addr=$(sed -n 's/^h4=//p' "$OUT/lab.info")
start_node h1 --no-mdns
wait_log "$OUT/h1.log" "announcing" 10 || fail "h1 did not start announcing"
"$LABSH" exec "$LAB" h3 -- script -qfec "$BIN/ppclient top --refresh 0.3" "$OUT/top.tty" \
  > /dev/null 2>&1 < /dev/null &
top=$!
PIDS+=("$top")
# The last screen drawn (screens begin with "clear"), or "" before the first.
last_screen() { python3 - "$OUT/top.tty" <<'PY'
import sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
print(data.split("\x1b[H\x1b[2J")[-1] if "\x1b[H\x1b[2J" in data else "")
PY
}
# wait_screen REGEX SECONDS: until the last screen has a line matching REGEX.
wait_screen() {
  local end=$((SECONDS + $2))
  while ((SECONDS < end)); do grep -Eq -- "$1" <<< "$(last_screen)" && return 0; sleep 0.2; done
  return 1
}
wait_screen "$h1addr:60000 +2 .* up " 10 || fail "top did not show h1: $(last_screen)"
start_node h2 --no-mdns                                  # one appears
wait_screen "$h2addr:60000 +2 .* up " 10 || fail "top did not show h2 appear: $(last_screen)"
kill -TERM "${NODE_PID[h1]}"                             # one leaves (says goodbye)
wait_screen "$h1addr:60000 +2 .* left " 10 || fail "top did not show h1 leave: $(last_screen)"
grep -Eq "$h2addr:60000 .* up " <<< "$(last_screen)" || fail "h2 is no longer up: $(last_screen)"
wait_screen "^  clients: none" 10 || fail "h2's clients not shown: $(last_screen)"
# A batch from h4 (on h2 alone: h1 has left): top lists it under h2, and not itself.
"$LABSH" exec "$LAB" h4 -- "$BIN/ppclient" run "$SRC/tests/lab/driver.lua" 600 50 1 \
  > "$OUT/driver.log" 2>&1 &
driver=$!
PIDS+=("$driver")
wait_screen "^  client .* $h4addr:[0-9]+ +[0-9]+ queued +[0-9]+ running" 20 ||
  fail "top did not show h4's batch on h2: $(last_screen)"
echo "top showed h4 using h2:"
last_screen | grep -E "^  client " || true
screens=$(grep -o $'\e\\[H\e\\[2J' "$OUT/top.tty" | wc -l)
echo "top drew $screens screens; last:"
last_screen
# Not a terminal: one table, no escape sequences.
run_client h3 oneshot "$BIN/ppclient" top --wait 2 || fail "ppclient top (one-shot) failed"
grep -Eq "^host +address" "$OUT/oneshot.log" || fail "no table header: $(cat "$OUT/oneshot.log")"
grep -Eq "$h2addr:60000 +2 .* up " "$OUT/oneshot.log" || fail "one-shot table lacks h2"
grep -q $'\e' "$OUT/oneshot.log" && fail "escape sequences in the one-shot table"
grep -Eq "^  client .* $h4addr:" "$OUT/oneshot.log" || fail "one-shot table lacks h4's batch"
grep -Eq "^  client .* $(sed -n 's/^h3=//p' "$OUT/lab.info"):" "$OUT/oneshot.log" &&
  fail "top listed its own session (or the live top's) as a client"
wait "$driver" || fail "the batch from h4 failed: $(tail -5 "$OUT/driver.log")"
kill -INT "$top" 2>/dev/null || true
echo "PASS: top showed a node appear and one leave, live, and a batch's client under its node;" \
  "one-shot table without a terminal"
