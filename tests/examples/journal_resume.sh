#!/usr/bin/env bash
# A batch resumed after its driver was killed (kill -9): with a journal, the rerun takes
# the results the first run finished from the journal and runs only the rest; every
# result of the rerun is right. Counts executions through a file every job appends to.
set -euo pipefail
BIN=$1
DIR=$(mktemp -d /tmp/pp-journal-XXXXXX)
DRIVER=""
cleanup() {
  [[ -n $DRIVER ]] && kill -9 "$DRIVER" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
N=300
cat > "$DIR/batch.lua" <<LUA
local pp = require "pp"
local js = pp.server{ ncpus = 2, journal = "$DIR/batch.ppj" }
local function job(i, log)
  local t0 = os.clock()
  while os.clock() - t0 < 0.01 do end
  local f = assert(io.open(log, "a"))
  f:write(i, "\n")
  f:close()
  return i * 3 + 1
end
local jobs = {}
for i = 1, $N do jobs[i] = js:submit(job, { i, "$DIR/executions" }) end
for i = 1, $N do
  assert(jobs[i]() == i * 3 + 1, "wrong result for job " .. i)
  io.write("done ", i, "\n")
  io.flush()
end
js:destroy()
print("batch complete")
LUA
# First run: killed once about a third of the results are in.
"$BIN/ppclient" run "$DIR/batch.lua" > "$DIR/run1.out" 2> "$DIR/run1.err" &
DRIVER=$!
for _ in $(seq 1 600); do
  [[ $(grep -c '^done' "$DIR/run1.out" || true) -ge $((N / 3)) ]] && break
  sleep 0.05
done
kill -9 "$DRIVER"
wait "$DRIVER" 2>/dev/null || true
DRIVER=""
grep -q "batch complete" "$DIR/run1.out" && { echo "the first run finished before it was killed"; exit 1; }
E1=$(wc -l < "$DIR/executions")
DONE1=$(grep -c '^done' "$DIR/run1.out" || true)
# The embedded node dies with its driver; give its workers a moment to be gone.
sleep 0.5
E1=$(wc -l < "$DIR/executions")
# Second run: the same batch.
"$BIN/ppclient" run "$DIR/batch.lua" > "$DIR/run2.out" 2> "$DIR/run2.err"
grep -q "batch complete" "$DIR/run2.out"
[[ $(grep -c '^done' "$DIR/run2.out") -eq $N ]]
E2=$(( $(wc -l < "$DIR/executions") - E1 ))
HITS=$(sed -n 's/.*journal .*: \([0-9]*\) finished jobs from earlier runs.*/\1/p' "$DIR/run2.err" | head -1)
echo "first run: $DONE1 results seen, $E1 executions; rerun: $HITS from the journal, $E2 executions"
[[ -n $HITS ]] || { echo "the rerun did not read the journal"; cat "$DIR/run2.err"; exit 1; }
(( HITS >= DONE1 )) || { echo "journal lost results: $HITS < $DONE1"; exit 1; }
(( E2 == N - HITS )) || { echo "the rerun ran $E2 jobs, expected $((N - HITS))"; exit 1; }
# Every job ran at least once over both runs; the ones running when the driver died
# ran twice at most.
sort -n "$DIR/executions" | uniq -c | awk -v n=$N '{ if ($1 > 2) bad = 1; seen++ } END { exit (bad || seen != n) }'
echo "journal resume: all ok"
