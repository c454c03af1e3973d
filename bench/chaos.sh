#!/usr/bin/env bash
# Figures of the chaos lab test (tests/lab/chaos.sh: a 5,000-job batch on four nodes of a
# LAN of network namespaces while nodes are killed and restarted and cables pulled), as
# root, for docs/BENCHMARKS.md. Each run is the real test, with all its checks; per run:
#  - the batch's wall time, from the submission of the last job to the client's end
#    (it includes a 5 s spell with every node dead), as the test prints it;
#  - the whole test's wall time and CPU time (user + system, /usr/bin/time: the test's
#    shell and the processes it waited for: nodes, clients, lab.sh);
#  - the test's counts: kills, link cuts, jobs re-sent by the client, duplicate executions.
# Round r uses the chaos seed BASE + r (the same moments of chaos for every build in it;
# the machine's timing still varies).
#   bench/chaos.sh [--build-dir DIR] [--repeat N] [--seed BASE]
#                  [--compare-build-dir OLD [--figures FILE]]
# Writes its section of docs/BENCHMARKS.md (between chaos markers; bench/run.sh keeps it
# when it rewrites the rest). With --compare-build-dir, measures that build ("old") against
# --build-dir ("new") instead: each round runs the test once per side, old and new in
# turn, the first side alternating; each side runs the test script of its own source tree.
# The figures go to FILE (appended; lines for bench/compare.py) and the comparison table is
# printed. The doc is not touched.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
OLD_BUILD=""
FIGURES=""
REPEAT=3
SEED=$((10#${EPOCHREALTIME: -4}))
USAGE="usage: bench/chaos.sh [--build-dir DIR] [--repeat N] [--seed BASE] [--compare-build-dir OLD [--figures FILE]]"
while (($#)); do
  case $1 in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --compare-build-dir) OLD_BUILD=$(cd "$2" && pwd); shift 2 ;;
    --figures) FIGURES=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    *) echo "$USAGE" >&2; exit 2 ;;
  esac
done
[[ -z $FIGURES || -n $OLD_BUILD ]] || { echo "bench/chaos.sh: --figures goes with --compare-build-dir" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "bench/chaos.sh needs root (network namespaces)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench/chaos.sh needs /usr/bin/time (GNU time)" >&2; exit 2; }
source_of() {  # the source tree a build directory was configured from
  sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$1/CMakeCache.txt" 2>/dev/null
}
for d in "$BUILD" ${OLD_BUILD:+"$OLD_BUILD"}; do
  for b in ppserver ppclient; do
    [[ -x "$d/bin/$b" ]] || { echo "bench/chaos.sh: $d/bin/$b missing; build first (scripts/build.sh)" >&2; exit 2; }
  done
  [[ -f "$(source_of "$d")/tests/lab/chaos.sh" ]] || { echo "bench/chaos.sh: no source tree for $d" >&2; exit 2; }
done
OUT=$(mktemp -d /tmp/pp-chaosbench-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
trap 'exit 130' INT TERM HUP   # the test takes its own lab down

# one_run DIR TAG SEED: runs the test; prints "batch_s wall_s cpu_s kills spell_kills cuts
# resent executions duplicates", or "failed" (the test's log is kept in $OUT/TAG.log).
one_run() {
  local dir=$1 tag=$2 seed=$3 src rc=0
  src=$(source_of "$dir")
  PP_CHAOS_SEED=$seed /usr/bin/time -o "$OUT/$tag.time" -f "%e %U %S" \
    bash "$src/tests/lab/chaos.sh" "$dir/bin" "$src" > "$OUT/$tag.log" 2>&1 || rc=$?
  if ((rc != 0)) || ! grep -q '^PASS:' "$OUT/$tag.log"; then
    echo "bench/chaos.sh: run $tag (seed $seed) did not pass (status $rc):" >&2
    tail -30 "$OUT/$tag.log" >&2
    echo failed
    return 0
  fi
  local batch counts
  batch=$(sed -n 's/^chaos \([0-9.]*\)s: the client finished.*/\1/p' "$OUT/$tag.log")
  counts=$(sed -n 's/^chaos: seed [0-9]*, kills \([0-9]*\) (and \([0-9]*\) in the all-nodes-down spell), link cuts \([0-9]*\), jobs re-sent by the client \([0-9]*\), executions \([0-9]*\) for [0-9]* jobs (duplicate executions \([0-9]*\),.*/\1 \2 \3 \4 \5 \6/p' "$OUT/$tag.log")
  [[ -n $batch && -n $counts ]] || { echo "bench/chaos.sh: run $tag printed no figures" >&2; echo failed; return 0; }
  awk -v b="$batch" -v c="$counts" '{ printf "%s %s %.2f %s\n", b, $1, $2 + $3, c }' "$OUT/$tag.time"
}
NAMES=("batch under chaos, wall (s)" "whole test, wall (s)" "whole test, CPU user+sys (s)"
  "kills" "kills in the all-nodes-down spell" "link cuts" "jobs re-sent by the client"
  "executions" "duplicate executions")
DIRS=(lower lower lower info info info info info info)

if [[ -n $OLD_BUILD ]]; then
  : "${FIGURES:=$OUT/figures.tsv}"
  side_round() {  # side_round old|new ROUND
    local side=$1 r=$2 dir=$BUILD load row i
    [[ $side == old ]] && dir=$OLD_BUILD
    load=$(cut -d' ' -f1 /proc/loadavg)
    row=$(one_run "$dir" "$side-$r" $((SEED + r)))
    echo "$side round $r (seed $((SEED + r)), load $load): $row"
    if [[ $row == failed ]]; then
      printf 'chaos: runs failed\tinfo\t%s\t%s\t1\t%s\n' "$side" "$r" "$load" >> "$FIGURES"
      return 0
    fi
    read -r -a v <<< "$row"
    for i in "${!NAMES[@]}"; do
      printf 'chaos: %s\t%s\t%s\t%s\t%s\t%s\n' "${NAMES[$i]}" "${DIRS[$i]}" "$side" "$r" "${v[$i]}" "$load" >> "$FIGURES"
    done
  }
  for r in $(seq 1 "$REPEAT"); do
    if ((r % 2)); then side_round old "$r"; side_round new "$r"; else side_round new "$r"; side_round old "$r"; fi
  done
  python3 "$ROOT/bench/compare.py" "$FIGURES"
  exit 0
fi

for r in $(seq 1 "$REPEAT"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  row=$(one_run "$BUILD" "$r" $((SEED + r)))
  echo "round $r (seed $((SEED + r)), load $load): $row"
  [[ $row == failed ]] && { echo "bench/chaos.sh: a run failed; the doc is not touched" >&2; exit 1; }
  echo "| $r | $((SEED + r)) | ${row// / | } | $load |" >> "$OUT/rows"
done
rel_build=${BUILD#"$ROOT"/}
[[ $rel_build == "$BUILD" ]] && rel_build="<build-dir>"
cmd="bench/chaos.sh --repeat $REPEAT --seed $SEED"
[[ $rel_build != build ]] && cmd+=" --build-dir $rel_build"
{
  echo "<!-- chaos:begin -->"
  echo "## Chaos: a 5,000-job batch while nodes die and cables are pulled"
  echo
  echo "- Command: \`$cmd\` (as root; $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs)"
  echo "- Each run is the lab test \`tests/lab/chaos.sh\` with all its checks (every job exactly one"
  echo "  right result, from a real execution on the node named; no hang; a starved batch fails in"
  echo "  time): five hosts of \`scripts/lab.sh\`, nodes h1..h4 (2, 2, 1, 1 workers), the client on h5,"
  echo "  5,000 jobs of 15 ms; a random act every 0.5-2 s (kill -9 and restart, or a cable pulled for"
  echo "  0.5-7 s), and a 5 s spell with every node dead. Round r replays chaos seed BASE + r."
  echo "- *Batch*: from the last submission to the client's end. *Test*: the whole script, lab set-up"
  echo "  and the starved batch included; CPU is that of the script and the processes it waited for"
  echo "  (a worker orphaned by kill -9 is not counted)."
  echo
  echo "| round | seed | batch wall (s) | test wall (s) | test CPU (s) | kills | spell kills | link cuts | jobs re-sent | executions | duplicates | load before |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  cat "$OUT/rows"
  echo "<!-- chaos:end -->"
} > "$OUT/section.md"
python3 "$ROOT/bench/put_section.py" "$ROOT/docs/BENCHMARKS.md" "$OUT/section.md"
echo "bench/chaos.sh: wrote the chaos section of docs/BENCHMARKS.md"
