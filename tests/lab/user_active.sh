#!/usr/bin/env bash
# --pause-when-user-active against a stand-in systemd-logind (login1_standin.py) on a private
# system bus (its own dbus-daemon, listening on a socket in the test's directory) inside lab
# host h1, so nothing reaches the machine's real system bus. The node on h1 runs with
# DBUS_SYSTEM_BUS_ADDRESS pointing at that bus; `ppclient top` on h2 sees its beacon.
#   - no bus, and a bus without login1: the node says so once and serves, never paused;
#   - the desktop session (seat0) never in use and an ssh session (no seat, never idle, as
#     logind has them): not paused; the desktop in use: paused at once; idle for longer
#     than MINUTES (the stand-in's IdleSinceHint set 2 min back): resumed at once; idle 20 s
#     ago: paused again; logind gone: resumed, and said once; logind back: said;
#   - a fractional window (0.05 min = 3 s): paused on "idle since now", resumed by itself.
# MINUTES=1 is decided at once by the stand-in's idle-since time, not by waiting a minute.
source "$(dirname "$0")/common.sh"
PY=/usr/bin/python3   # Debian's interpreter, where python3-dbus and python3-gi live
"$PY" -c 'import dbus, gi' 2>/dev/null || skip "python3-dbus and python3-gi are needed"
command -v dbus-daemon >/dev/null && command -v dbus-send >/dev/null || skip "dbus is needed"
lab_up 2
export PP_DISCOVERY=broadcast
h1addr=$(sed -n 's/^h1=//p' "$OUT/lab.info")
BUS=$OUT/bus/socket
mkdir -p "$OUT/bus"
cat > "$OUT/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$BUS</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
CONF

# h1 [ENV=VALUE...] CMD...: runs CMD in h1, in the background, logging to $OUT/$LOGNAME.log.
h1() {
  "$LABSH" exec "$LAB" h1 -- env "$@" >> "$OUT/$LOGNAME.log" 2>&1 &
  PIDS+=($!)
  LASTPID=$!
}
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
set_idle() {   # set_idle true|false SECONDS_AGO
  "$LABSH" exec "$LAB" h1 -- env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$BUS" dbus-send --system \
    --print-reply --reply-timeout=2000 --dest=org.freedesktop.login1 /org/freedesktop/login1 \
    org.freedesktop.login1.LabControl.SetIdle "boolean:$1" "double:$2" > /dev/null \
    || fail "the stand-in did not take SetIdle $1 $2"
}
# node NAME WINDOW PORT [ENV...]: a ppserver on h1 with --pause-when-user-active WINDOW
node() {
  local name=$1 window=$2 port=$3; shift 3
  LOGNAME=$name h1 "$@" "$BIN/ppserver" -w 1 -a --no-mdns --announce-interval 1 -p "$port" \
    --pause-when-user-active "$window"
  NODE=$LASTPID
  wait_log "$OUT/$name.log" "pause when user active: the node pauses" 10 \
    || fail "$name did not start"
}
# top_shows REGEX: `ppclient top` on h2 shows h1's node on a line matching REGEX (10 s at most)
top_shows() {
  local end=$((SECONDS + 10))
  while ((SECONDS < end)); do
    run_client h2 top "$BIN/ppclient" top --wait 1.5 || true
    grep -Eq -- "$1" "$OUT/top.log" && return 0
  done
  return 1
}
reads() { grep -c "^read Session IdleHint" "$OUT/login1.log" 2>/dev/null || true; }
wait_reads() {   # wait_reads N: until the stand-in has answered N more IdleHint reads
  local want=$(($(reads) + $1)) end=$((SECONDS + 15))
  while ((SECONDS < end)); do (($(reads) >= want)) && return 0; sleep 0.1; done
  return 1
}

# 1. No bus at all: said once, the node serves unpaused.
node nobus 1 60000 DBUS_SYSTEM_BUS_ADDRESS="unix:path=$OUT/bus/none"
wait_log "$OUT/nobus.log" "pause when user active: off: no system D-Bus at unix:path=$OUT/bus/none" 10 \
  || fail "no 'no system D-Bus' message"
top_shows "$h1addr:60000 .* up " || fail "the node without a bus is not up: $(cat "$OUT/top.log")"
stop "$NODE"

# 2. A bus without login1: said once, the node serves unpaused.
LOGNAME=bus h1 dbus-daemon --config-file="$OUT/bus.conf" --nofork --nopidfile
for _ in $(seq 1 100); do [[ -S $BUS ]] && break; sleep 0.1; done
[[ -S $BUS ]] || fail "the private bus did not start"
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$BUS"
node nologind 1 60000
wait_log "$OUT/nologind.log" "off: no systemd-logind (org.freedesktop.login1) on the system D-Bus" 10 \
  || fail "no 'no logind' message"
top_shows "$h1addr:60000 .* up " || fail "the node without logind is not up"
stop "$NODE"
(($(grep -c "pause when user active: off" "$OUT/nologind.log") == 1)) || fail "said more than once"
grep -q "paused:" "$OUT/nobus.log" "$OUT/nologind.log" && fail "a node without logind paused"

# 3. The stand-in: the desktop never in use, an ssh login that never idles: not paused.
LOGNAME=login1 h1 "$PY" "$SRC/tests/lab/login1_standin.py"
STANDIN=$LASTPID
wait_log "$OUT/login1.log" "^ready" 10 || fail "the stand-in did not start"
node h1 1 60000
wait_reads 3 || fail "the node does not read the desktop session's IdleHint each second"
grep -q "paused:" "$OUT/h1.log" && fail "paused with no seated session in use"
# A session in use: paused at once, and the clients see it.
set_idle false 0
wait_log "$OUT/h1.log" "paused: session 1 of this machine is in use (logind)" 10 \
  || fail "a session in use did not pause the node"
top_shows "$h1addr:60000 .* paused " || fail "top does not show h1 paused: $(cat "$OUT/top.log")"
# Every session idle for 2 min, more than the 1-min window: resumed at once.
set_idle true 120
wait_log "$OUT/h1.log" "resumed after" 10 || fail "idle for longer than the window did not resume"
top_shows "$h1addr:60000 .* up " || fail "top does not show h1 up again"
# Idle for 20 s only: in use within the last minute, paused again.
set_idle true 20
wait_log "$OUT/h1.log" "paused: session 1 of this machine was in use 2[0-9] s ago" 10 \
  || fail "idle for less than the window did not pause"
# logind goes away while the node is paused: it resumes (no one can tell) and says so once.
stop "$STANDIN"
wait_log "$OUT/h1.log" "does not pause for its user until logind answers again" 10 \
  || fail "losing logind was not said"
(($(grep -c "resumed after" "$OUT/h1.log") == 2)) || fail "losing logind did not resume the node"
LOGNAME=login1 h1 "$PY" "$SRC/tests/lab/login1_standin.py"
wait_log "$OUT/h1.log" "pause when user active: logind answers again" 15 \
  || fail "logind's return was not noticed"
(($(grep -c "until logind answers again" "$OUT/h1.log") == 1)) || fail "the loss was said more than once"
stop "$NODE"

# 4. A fractional window, 0.05 min = 3 s: idle since now pauses, and time alone resumes.
set_idle true 0
node short 0.05 60001
wait_log "$OUT/short.log" "paused: session 1 of this machine was in use" 10 \
  || fail "the 3-s window did not pause on 'idle since now'"
wait_log "$OUT/short.log" "resumed after" 15 || fail "the 3-s window did not run out"
stop "$NODE"
grep -h "pause when user active\|paused:\|resumed" "$OUT"/{nobus,nologind,h1,short}.log | cut -c1-160
# Figures (not asserted): from the stand-in's switch to the node's log line.
tod() { awk '{ split($1, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'; }
line_tod() { grep -m1 -- "$2" "$1" | sed 's/^[^0-9]*//' | tod; }
set_at=$(line_tod "$OUT/login1.log" "set active")
paused_at=$(line_tod "$OUT/h1.log" "paused: session 1 of this machine is in use")
idle_at=$(line_tod "$OUT/login1.log" "set idle 120")
resumed_at=$(line_tod "$OUT/h1.log" "resumed after")
awk -v a="$set_at" -v p="$paused_at" -v i="$idle_at" -v r="$resumed_at" 'BEGIN {
  printf "figures: session in use -> node paused %.3f s; idle past the window -> resumed %.3f s\n",
         p - a, r - i }'
echo "PASS: paused while logind's stand-in said a session was in use within the window, resumed" \
  "when idle for longer; no bus, no logind and a lost logind said once"
