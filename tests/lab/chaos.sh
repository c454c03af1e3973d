#!/usr/bin/env bash
# Chaos: a batch of 5,000 short jobs on four nodes (h1..h4) driven from h5, while at random
# (seeded) moments nodes are killed with kill -9 and restarted, and hosts' cables are pulled
# and plugged back (the client's too), with one spell of several seconds in which every node
# is dead at once. In the end every job has exactly one result, each result is right (checked
# against a hash of the job's index), came from a real execution on the host that the client
# names for it, and the client never hung. Each execution appends "index host token" to a
# file of its worker (the hosts share the file system), so executions are counted exactly.
# Printed: kills, link cuts, jobs re-sent by the client, duplicate executions.
# Last, with every node gone for good and a short no_node_timeout, a batch fails with a
# clear reason instead of waiting forever.
#   PP_CHAOS_SEED=N   replay a run's choices (the machine's timing still varies)
#   PP_CHAOS_JOBS=N   batch size (default 5000); PP_CHAOS_SLEEP_MS job length (default 15)
source "$(dirname "$0")/common.sh"
JOBS=${PP_CHAOS_JOBS:-5000}
SLEEP_MS=${PP_CHAOS_SLEEP_MS:-15}
CLIENT_DEADLINE_S=150     # the batch normally takes 20-60 s; past this the client hangs
ALL_DOWN_S=5              # the spell with no node at all (the client waits up to 60 s)
SEED=${PP_CHAOS_SEED:-$((10#${EPOCHREALTIME: -6}))}
RANDOM=$SEED              # bash's RANDOM, drawn only in this shell (subshells reseed it)
echo "chaos seed $SEED (replay with PP_CHAOS_SEED=$SEED)"

NODES=(h1 h2 h3 h4)
CLIENT_HOST=h5
declare -A WORKERS=([h1]=2 [h2]=2 [h3]=1 [h4]=1)
declare -A RESTART_AT=() LINK_UP_AT=()   # host -> time (ms) of the pending repair
KILLS=0 CUTS=0 SPELL_KILLS=0 CLIENT_PID=""

now_ms() { NOW=$((${EPOCHREALTIME//[.,]/} / 1000)); }   # "." or "," by locale
rnd() { R=$((RANDOM % $1)); }             # R in [0, $1), without a subshell
note() { now_ms; echo "chaos $(((NOW - T0) / 1000)).$(((NOW - T0) % 1000 / 100))s: $*"; }

# PIDS (killed by common.sh's cleanup) holds only processes that may be alive: a reaped
# PID may be reused by someone else's process.
sync_pids() {
  PIDS=()
  [[ -n $CLIENT_PID ]] && PIDS+=("$CLIENT_PID")
  local h
  for h in "${NODES[@]}"; do [[ -n ${NODE_PID[$h]:-} ]] && PIDS+=("${NODE_PID[$h]}"); done
  return 0
}
node_up() {   # (re)starts ppserver on $1; each start appends to that host's log
  local h=$1
  echo "=== chaos: start" >>"$OUT/$h.log"
  "$LABSH" exec "$LAB" "$h" -- "$BIN/ppserver" -w "${WORKERS[$h]}" -a --no-mdns \
    --announce-interval 1 >>"$OUT/$h.log" 2>&1 &
  NODE_PID[$h]=$!
  sync_pids
}
node_kill() {  # kill -9 by PID, then reap it
  local h=$1 pid=${NODE_PID[$1]}
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  NODE_PID[$h]=""
  sync_pids
  echo "=== chaos: killed" >>"$OUT/$h.log"
}
node_alive() { [[ -n ${NODE_PID[$1]:-} ]]; }
link() { "$LABSH" link "$LAB" "$1" "$2"; }
client_running() { kill -0 "$CLIENT_PID" 2>/dev/null; }
progress() { sed -n 's/^progress //p' "$OUT/client.log" | tail -1; }

# A node that exits on its own (it must not: it is only ever killed) fails the test.
check_nodes() {
  local h
  for h in "${NODES[@]}"; do
    if node_alive "$h" && ! kill -0 "${NODE_PID[$h]}" 2>/dev/null; then
      fail "ppserver on $h exited by itself (see $h.log)"
    fi
  done
}

# Repairs whose time has come: restart killed nodes, plug cables back in.
repair_due() {
  local h
  now_ms
  for h in "${!RESTART_AT[@]}"; do
    if ((NOW >= RESTART_AT[$h])); then unset "RESTART_AT[$h]"; node_up "$h"; note "restart $h"; fi
  done
  for h in "${!LINK_UP_AT[@]}"; do
    if ((NOW >= LINK_UP_AT[$h])); then unset "LINK_UP_AT[$h]"; link "$h" up; note "link $h up"; fi
  done
}

# One random act: kill a live node (back in 0.3-2 s), cut a cable (back in 0.5-7 s; a cut
# longer than the client's 5 heartbeats drops the node and re-sends its jobs), or nothing.
chaos_step() {
  local h
  rnd 100
  if ((R < 45)); then
    rnd ${#NODES[@]}; h=${NODES[$R]}
    node_alive "$h" || return 0
    node_kill "$h"; KILLS=$((KILLS + 1))
    rnd 1700; now_ms; RESTART_AT[$h]=$((NOW + 300 + R))
    note "kill -9 $h (restart in $(((RESTART_AT[$h] - NOW) / 100))00 ms)"
  elif ((R < 85)); then
    rnd 10
    if ((R == 0)); then h=$CLIENT_HOST; else rnd ${#NODES[@]}; h=${NODES[$R]}; fi
    [[ -z ${LINK_UP_AT[$h]:-} ]] || return 0
    link "$h" down; CUTS=$((CUTS + 1))
    rnd 6500; now_ms; LINK_UP_AT[$h]=$((NOW + 500 + R))
    note "link $h down (up in $(((LINK_UP_AT[$h] - NOW) / 100))00 ms)"
  fi
}

# Every node dead at once for ALL_DOWN_S, cables all in; then all come back.
all_down() {
  local h
  note "all nodes down for ${ALL_DOWN_S}s (progress $(progress))"
  for h in "${NODES[@]}"; do
    if node_alive "$h"; then node_kill "$h"; SPELL_KILLS=$((SPELL_KILLS + 1)); fi
  done
  RESTART_AT=()
  for h in "${!LINK_UP_AT[@]}"; do link "$h" up; done
  LINK_UP_AT=()
  sleep "$ALL_DOWN_S"
  client_running || fail "the client ended while no node was up (it should wait)"
  for h in "${NODES[@]}"; do node_up "$h"; done
  note "all nodes restarted"
}

lab_up 5
for h in "${NODES[@]}"; do node_up "$h"; done
for h in "${NODES[@]}"; do wait_log "$OUT/$h.log" "announcing" 20 || fail "$h did not start"; done
EXEC=$OUT/exec
mkdir -p "$EXEC"
"$LABSH" exec "$LAB" "$CLIENT_HOST" -- "$BIN/ppclient" run "$SRC/tests/lab/chaos_driver.lua" \
  batch "$JOBS" "$SLEEP_MS" "$EXEC" "$OUT/results.txt" 60 >"$OUT/client.log" 2>&1 &
CLIENT_PID=$!
sync_pids
wait_log "$OUT/client.log" "submitted $JOBS jobs" 30 || fail "the client did not submit its batch"
now_ms; T0=$NOW
DEADLINE=$((NOW + CLIENT_DEADLINE_S * 1000))
did_all_down=0
next_act=$NOW
while client_running; do   # ticks of 0.1 s: repairs on time, a random act every 0.5-2 s
  now_ms
  ((NOW < DEADLINE)) || fail "the client hung: no end of the batch after ${CLIENT_DEADLINE_S}s" \
    "(progress $(progress); seed $SEED)"
  check_nodes
  repair_due
  done_n=$(progress)
  if ((did_all_down == 0 && ${done_n:-0} >= JOBS / 3)); then
    all_down; did_all_down=1
  elif ((NOW >= next_act)); then
    chaos_step
    rnd 1500; next_act=$((NOW + 500 + R))
  fi
  sleep 0.1
done
client_rc=0
wait "$CLIENT_PID" || client_rc=$?
CLIENT_PID=""
note "the client finished (status $client_rc)"

# Stop the chaos: cables in, every node stopped cleanly (a sanitizer build reports at exit),
# so no execution is still writing when they are counted.
for h in "${!LINK_UP_AT[@]}"; do link "$h" up; done
for h in "${NODES[@]}"; do
  node_alive "$h" || continue
  pid=${NODE_PID[$h]}
  kill -TERM "$pid" 2>/dev/null || true
  for ((t = 0; t < 100; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "ppserver on $h did not stop within 10 s of SIGTERM"
  wait "$pid" 2>/dev/null || true
  NODE_PID[$h]=""
done
sync_pids
sed -n '/^results:/,$p' "$OUT/client.log"
((client_rc == 0)) || fail "the client failed (status $client_rc; seed $SEED)"
grep -q "^results: $JOBS of $JOBS correct" "$OUT/client.log" || fail "wrong or missing results"
((did_all_down == 1)) || fail "the batch ended before the all-nodes-down spell (seed $SEED)"

# Cross-check results against executions. results.txt: "index host token node";
# executions: "index host token"; lab.info: "hI=address".
cat "$EXEC"/* >"$OUT/executions.txt"
summary=$(awk -v jobs="$JOBS" -v lab="$LAB" '
  FILENAME ~ /lab.info$/ { if (split($0, kv, "=") == 2 && kv[1] ~ /^h[0-9]+$/) host[kv[2] ":60000"] = lab "-" kv[1]; next }
  FILENAME ~ /executions.txt$/ {
    execs++; runs[$1]++
    if (($3) in token) { print "token " $3 " seen twice"; bad++ }
    token[$3] = $1 " " $2; next }
  {
    results++
    if ($1 < 1 || $1 > jobs || got[$1]++) { print "result for job " $1 " out of range or twice"; bad++ }
    if (token[$3] != $1 " " $2) { print "job " $1 ": result token " $3 " matches no execution of it on " $2; bad++ }
    if (host[$4] != $2) { print "job " $1 ": client says node " $4 " but it ran on " $2; bad++ }
  }
  END {
    for (i = 1; i <= jobs; i++) { if (!got[i]) { missing++ } if (runs[i] > 1) { multi++ } }
    printf "results=%d missing=%d executions=%d duplicates=%d multi=%d bad=%d\n",
      results, missing, execs, execs - jobs, multi, bad + 0
  }' "$OUT/lab.info" "$OUT/executions.txt" "$OUT/results.txt")
echo "$summary" | grep -v '^results=' || true
eval "$(echo "$summary" | tail -1 | tr ' ' '\n' | grep -E '^[a-z]+=-?[0-9]+$')"
((results == JOBS && missing == 0 && bad == 0)) || fail "results and executions disagree: $(echo "$summary" | tail -1)"
((executions >= JOBS)) || fail "fewer executions ($executions) than jobs"
resent=$({ grep -o '([0-9]* jobs sent elsewhere)' "$OUT/client.log" || true; } | tr -dc '0-9\n' |
  awk '{s += $1} END {print s + 0}')
echo "chaos: seed $SEED, kills $KILLS (and $SPELL_KILLS in the all-nodes-down spell), link cuts $CUTS," \
  "jobs re-sent by the client $resent, executions $executions for $JOBS jobs" \
  "(duplicate executions $duplicates, over $multi jobs)"
((KILLS > 0 && CUTS > 0)) || fail "the chaos loop did nothing (seed $SEED)"
((resent > 0)) || fail "nodes were killed mid-batch, yet the client re-sent no job"

# Every node gone for good, no_node_timeout 3 s: the batch must fail, promptly and saying why.
node_up h1
wait_log "$OUT/h1.log" "announcing" 20 || fail "h1 did not start again"
"$LABSH" exec "$LAB" "$CLIENT_HOST" -- "$BIN/ppclient" run "$SRC/tests/lab/chaos_driver.lua" \
  starve 400 "$SLEEP_MS" "$EXEC" 3 >"$OUT/starve.log" 2>&1 &
CLIENT_PID=$!
sync_pids
wait_log "$OUT/starve.log" "first job done" 20 || fail "the starving client got no result at all"
node_kill h1
h1addr=$(sed -n 's/^h1=//p' "$OUT/lab.info")
for ((t = 0; t < 300; t++)); do client_running || break; sleep 0.1; done
client_running && fail "the client still waits 30 s after its last node died (no_node_timeout 3 s)"
wait "$CLIENT_PID" || fail "the starving client failed instead of reporting failed jobs"
CLIENT_PID=""
sync_pids
cat "$OUT/starve.log"
grep -Eq "^starved: [0-9]+ ok, [1-9][0-9]* failed" "$OUT/starve.log" || fail "no job failed"
ok=$(sed -n 's/^starved: \([0-9]*\) ok, \([0-9]*\) failed/\1 \2/p' "$OUT/starve.log")
(($(echo "$ok" | awk '{print $1 + $2}') == 400)) || fail "not every job of 400 had one outcome"
grep "^first error:" "$OUT/starve.log" | grep -q "no node could run the job" \
  || fail "the failure does not say that no node could run the job"
grep "^first error:" "$OUT/starve.log" | grep -q "$h1addr:60000" \
  || fail "the failure does not name the node that went away"
echo "PASS: $JOBS/$JOBS right results under chaos (seed $SEED); with every node gone the batch failed in time, saying why"
