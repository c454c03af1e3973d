# bench/lib.sh -- what the bench scripts share, sourced by them (never run):
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Their option parsing (bench_options), the check that the binaries they run are built
# (bench_need), a work directory removed on exit after every process started for the
# run is stopped (bench_workdir, bench_track), loopback nodes (bench_start_node on a
# free port, bench_start_port_nodes on given ports) and a figure of a JSON line
# (bench_field). Sets ROOT (the source tree) and BENCH_NAME (the script's name, for
# messages).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_NAME="bench/$(basename "$0")"

# bench_options USAGE SPEC... -- ARGS...: sets the variables SPEC names from ARGS.
#   "--jobs=JOBS"          the option takes a value, stored in JOBS
#   "--build-dir=@BUILD"   the value is a directory, stored made absolute
#   "--quick=JOBS:100000"  a flag: JOBS becomes 100000
# -h/--help prints the script's header comment; anything else prints USAGE, exit 2.
bench_options() {
  local _usage=$1 _specs=() _arg _spec _flag _target _dir _found
  shift
  while [[ $1 != -- ]]; do _specs+=("$1"); shift; done
  shift
  while (($#)); do
    _arg=$1 _found=""
    if [[ $_arg == -h || $_arg == --help ]]; then
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
    fi
    for _spec in "${_specs[@]}"; do
      _flag=${_spec%%=*} _target=${_spec#*=}
      [[ $_arg == "$_flag" ]] || continue
      _found=1
      if [[ $_target == *:* ]]; then
        printf -v "${_target%%:*}" '%s' "${_target#*:}"
        shift
        break
      fi
      [[ $# -ge 2 ]] || { echo "$BENCH_NAME: $_flag needs a value" >&2; exit 2; }
      if [[ $_target == @* ]]; then
        _dir=$(cd "$2" && pwd) || exit 2
        printf -v "${_target#@}" '%s' "$_dir"
      else
        printf -v "$_target" '%s' "$2"
      fi
      shift 2
      break
    done
    [[ -n $_found ]] || { echo "$_usage" >&2; exit 2; }
  done
}

# bench_need DIR PROGRAM...: exits unless DIR/bin/PROGRAM is built, for each.
bench_need() {
  local dir=$1 b
  shift
  for b in "$@"; do
    [[ -x "$dir/bin/$b" ]] ||
      { echo "$BENCH_NAME: $dir/bin/$b missing; build first (scripts/build.sh)" >&2; exit 2; }
  done
}

# bench_workdir PREFIX: OUT, a fresh directory under /tmp. On exit every process given to
# bench_track is stopped (TERM, then up to 5 s each to end), bench_on_exit runs if the
# script defines it, and OUT is removed; an interrupt exits 130 through the same path.
bench_workdir() {
  OUT=$(mktemp -d "/tmp/$1-XXXXXX")
  : > "$OUT/pids"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM HUP
}

# bench_track PID...: processes to stop on exit (kept in a file: a node started in a
# command substitution is tracked from that subshell too).
bench_track() { printf '%s\n' "$@" >> "$OUT/pids"; }

bench_cleanup() {
  local pids="" p
  if declare -F bench_on_exit > /dev/null; then bench_on_exit; fi
  [[ -f "$OUT/pids" ]] && pids=$(cat "$OUT/pids")
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$OUT"
}

# bench_start_node NAME DIR [ppserver options...]: a ppserver of DIR/bin on loopback, on a
# free port (read from its log, so builds of any age serve), given a second for its
# calibration before anything is measured; prints 127.0.0.1:PORT. Its log is
# $OUT/NAME.log, its pid in $OUT/NAME.pid.
bench_start_node() {
  local name=$1 dir=$2 port=""
  shift 2
  "$dir/bin/ppserver" -i 127.0.0.1 -p 0 "$@" > "$OUT/$name.log" 2>&1 &
  bench_track $!
  echo $! > "$OUT/$name.pid"
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/$name.log" | head -1)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "node $name did not start:" >&2; cat "$OUT/$name.log" >&2; exit 1; }
  sleep 1
  echo "127.0.0.1:$port"
}

# bench_start_port_nodes COUNT FIRST_PORT [ppserver options...]: COUNT ppservers of
# $BUILD/bin on loopback ports FIRST_PORT, FIRST_PORT + 1, ...; waits until each listens
# (up to 60 s each); exits with the log of one that ended. Logs: $OUT/node-I.log.
bench_start_port_nodes() {
  local count=$1 first=$2 i t pids=()
  shift 2
  for ((i = 0; i < count; i++)); do
    "$BUILD/bin/ppserver" -i 127.0.0.1 -p $((first + i)) "$@" \
      > "$OUT/node-$i.log" 2>&1 &
    pids+=($!)
  done
  bench_track "${pids[@]}"
  for ((i = 0; i < count; i++)); do
    for ((t = 0; t < 600; t++)); do
      [[ -n $(ss -Hltn "sport = :$((first + i))") ]] && break
      kill -0 "${pids[$i]}" 2>/dev/null || { echo "node $i exited:"; cat "$OUT/node-$i.log"; exit 1; }
      sleep 0.1
    done
  done
}

# bench_field KEY FILE: the number after "KEY": in FILE (a JSON line of pp_bench).
bench_field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" "$2"; }

# tod: seconds since midnight of a log line's "HH:MM:SS.mmm" (the first field), read from
# stdin; now_tod: the same for now. The pause benchmarks time log lines with them.
tod() { awk '{ split($1, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'; }
now_tod() { date +%H:%M:%S.%N | tod; }
