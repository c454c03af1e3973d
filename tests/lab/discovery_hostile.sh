#!/usr/bin/env bash
# Forged (wrong HMAC), garbled and other-cluster beacons are ignored; a node of an
# incompatible version is listed with the reason and never connected to.
source "$(dirname "$0")/common.sh"
lab_up 4
FAKES=()
start_node h1 --no-mdns
wait_log "$OUT/h1.log" "announcing" 10 || fail "h1 did not start"
for mode in forged garbled other-cluster incompatible; do
  "$LABSH" exec "$LAB" h2 -- "$BIN/fake_beacon" --secret "$PP_SECRET" --to "$BROADCAST" \
    --mode "$mode" --seconds 8 > "$OUT/fake-$mode.log" 2>&1 &
  PIDS+=($!)
  FAKES+=($!)
done
sleep 0.5
run_client h4 nodes "$BIN/ppclient" nodes --wait 3 || fail "ppclient nodes failed"
cat "$OUT/nodes.log"
h1addr=$(sed -n 's/^h1=//p' "$OUT/lab.info")
grep -q "$h1addr .* yes *yes" "$OUT/nodes.log" || fail "h1 not listed as connected and compatible"
grep -q "fake-incompatible.*no: runs protocol 99" "$OUT/nodes.log" || fail "incompatible node not listed with its reason"
for mode in forged garbled other-cluster; do
  ! grep -q "fake-$mode" "$OUT/nodes.log" || fail "a $mode beacon was accepted"
done
grep -q "ignoring a beacon from .*HMAC" "$OUT/nodes.log" || fail "forged beacons were not logged"
run_client h4 client "$BIN/ppclient" run "$SRC/tests/lab/driver.lua" 40 5 1 || fail "client failed"
grep -q "results: 40 of 40 correct" "$OUT/client.log" || fail "batch failed"
wait "${FAKES[@]}"
grep -q "tcp connections: 0" "$OUT/fake-incompatible.log" || fail "the client connected to the incompatible node: $(cat "$OUT/fake-incompatible.log")"
echo "PASS: hostile beacons ignored, incompatible node listed and never used"
