#!/usr/bin/env bash
# Throughput with the live dashboard open against without it. Two nodes on loopback
# (`ppserver -w 2`), a batch of J tiny jobs (what costs is the driver's io thread), run
# in three ways per round, in turn:
#   off      no dashboard
#   browser  --dashboard, with headless Chromium showing the page (it polls /api/status
#            every second and redraws, as a person's browser would)
#   poller   --dashboard, with curl asking /api/status and /api/stream?since=0 (the whole
#            kept stream, a page's worst case) 10 times a second
# Prints each run's jobs/s and the driver process's CPU seconds (user + system, all its
# threads: io, dashboard, bar), then the medians and their ratios to "off".
#   bench/dashboard.sh [--build-dir DIR] [--jobs J] [--repeat R] [--first-port P]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD="$ROOT/build"
JOBS=100000 REPEAT=3 PORT=43100
bench_options "usage: bench/dashboard.sh [--build-dir DIR] [--jobs J] [--repeat R] [--first-port P]" \
  --build-dir=@BUILD --jobs=JOBS --repeat=REPEAT --first-port=PORT -- "$@"
bench_need "$BUILD" ppserver ppclient
command -v chromium >/dev/null || { echo "bench/dashboard.sh: needs chromium" >&2; exit 2; }

bench_workdir pp-dashboard
helpers=()
stop_helpers() {
  for p in "${helpers[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${helpers[@]}"; do wait "$p" 2>/dev/null || true; done
  helpers=()
}
bench_on_exit() { stop_helpers; }
bench_start_port_nodes 2 "$PORT" -w 2 -q

run() {
  local mode=$1 args=() url
  rm -f "$OUT/gate" "$OUT/client.err"
  [[ $mode != off ]] && args=(--dashboard 127.0.0.1:0)
  /usr/bin/time -f "%U %S" -o "$OUT/cpu" \
    "$BUILD/bin/ppclient" run "${args[@]}" "$ROOT/bench/lab/dashboard_throughput.lua" "$JOBS" 4 \
    "$OUT/gate" $PORT $((PORT + 1)) > "$OUT/client.out" 2> "$OUT/client.err" &
  local client=$!
  if [[ $mode != off ]]; then
    for ((t = 0; t < 100; t++)); do grep -qs "dashboard at" "$OUT/client.err" && break; sleep 0.1; done
    url=$(sed -n 's/^ppclient: dashboard at \(http[^ ]*\)$/\1/p' "$OUT/client.err")
    if [[ $mode == browser ]]; then
      chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --user-data-dir="$OUT/chromium" --remote-debugging-port=0 "$url" > "$OUT/chromium.log" 2>&1 &
      helpers+=($!)
      sleep 4   # the page loaded and polling
    else
      (while :; do
        curl -s -o /dev/null "${url}api/status"
        curl -s -o /dev/null "${url}api/stream?since=0"
        sleep 0.1
      done) &
      helpers+=($!)
      sleep 1
    fi
  fi
  touch "$OUT/gate"
  wait "$client" || { cat "$OUT/client.err"; exit 1; }
  stop_helpers
  local rate cpu
  rate=$(awk '{ for (i = 1; i < NF; i++) if ($i == "jobs_per_s") print $(i + 1) }' "$OUT/client.out")
  cpu=$(awk 'END { printf "%.2f", $1 + $2 }' "$OUT/cpu")
  echo "$rate $cpu"
}

declare -A all cpus
for ((r = 1; r <= REPEAT; r++)); do
  line="round $r:"
  for mode in off browser poller; do
    read -r v c < <(run "$mode")
    all[$mode]+="$v "
    cpus[$mode]+="$c "
    line+=" $mode $v jobs/s ${c} s CPU;"
  done
  echo "$line (load $(cut -d' ' -f1 /proc/loadavg))"
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
off=$(median <<< "${all[off]}")
off_cpu=$(median <<< "${cpus[off]}")
for mode in off browser poller; do
  m=$(median <<< "${all[$mode]}")
  c=$(median <<< "${cpus[$mode]}")
  awk -v m="$m" -v o="$off" -v c="$c" -v oc="$off_cpu" -v mode="$mode" -v r="$REPEAT" \
    'BEGIN { printf "median %-8s %8.0f jobs/s, driver CPU %.2f s over %d rounds: %.3f of off, CPU %.3f of off\n", mode, m, c, r, m / o, c / oc }'
done
