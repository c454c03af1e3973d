#!/usr/bin/env bash
# The live dashboard in a real browser: three nodes `ppserver -w 2 -a` in h1..h3, a driver in
# h4 serving its dashboard on h4's LAN address (so a token is required), and headless
# Chromium in h4 driven by dashboard_browser.py (which also sends plain HTTP requests).
# The screenshot it takes mid-batch is kept as dashboard.png beside the build's bin/
# (PP_UPDATE_DOCS=1 also copies it to docs/dashboard.png).
source "$(dirname "$0")/common.sh"
command -v chromium >/dev/null && command -v chromedriver >/dev/null \
  || skip "no chromium/chromium-driver (scripts/install-deps.sh --with-test-tools)"
# Debian's python3-selenium lives in the system Python, which another python3 on PATH hides.
PY=/usr/bin/python3
"$PY" -c "import selenium" 2>/dev/null || skip "no python3-selenium"
lab_up 4
H4=$(sed -n 's/^h4=//p' "$OUT/lab.info")
JOBS=360
for h in h1 h2 h3; do start_node "$h" --no-mdns; done
for h in h1 h2 h3; do wait_log "$OUT/$h.log" "announcing" 10 || fail "$h did not start announcing"; done
# Run from the work folder by its bare name: the failure's traceback on the page (and in the
# screenshot kept in docs/) names the script, not where this checkout lies.
cp "$SRC/tests/lab/dashboard_driver.lua" "$OUT/"
(cd "$OUT" && exec "$LABSH" exec "$LAB" h4 -- "$BIN/ppclient" run --dashboard "$H4:8787" \
  --dashboard-linger 20 dashboard_driver.lua "$OUT/gate" "$JOBS" 100 3) > "$OUT/driver.log" 2>&1 &
DRIVER=$!
PIDS+=($DRIVER)
wait_log "$OUT/driver.log" "dashboard at http" 20 || fail "the driver printed no dashboard URL"
URL=$(sed -n 's/^ppclient: dashboard at \(http[^ ]*\)$/\1/p' "$OUT/driver.log")
[[ $URL == "http://$H4:8787/?token="* ]] || fail "unexpected dashboard URL: $URL"
SHOT="$BIN/../dashboard.png"
"$LABSH" exec "$LAB" h4 -- env HOME="$OUT" "$PY" "$SRC/tests/lab/dashboard_browser.py" \
  "$URL" "$OUT/gate" "$SHOT" "$JOBS" > "$OUT/browser.log" 2>&1 || { cat "$OUT/browser.log"; fail "browser checks"; }
cat "$OUT/browser.log"
grep -q "batch done" "$OUT/driver.log" || fail "the batch did not finish"
grep -q "dashboard stays at" "$OUT/driver.log" || fail "the driver did not keep the final state up"
# It exits by itself after the linger (in sanitized builds, with its leak check).
wait "$DRIVER" || fail "the driver exited with status $?"
[[ -n ${PP_UPDATE_DOCS:-} ]] && cp "$SHOT" "$SRC/docs/dashboard.png"
echo "PASS: dashboard in a browser: 3 nodes, progress, a group's and a stage's bar, failure, token, final state"
