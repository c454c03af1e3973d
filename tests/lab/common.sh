# Shared by the LAN tests: build a lab, start nodes and clients in it, clean up always.
# Usage from a test: source common.sh BIN_DIR SRC_DIR; lab_up N [--avahi]; ...
set -euo pipefail
BIN=$1
SRC=$2
LABSH="$SRC/scripts/lab.sh"
LAB="pt$$"
export PP_SECRET="lab-test-secret-$$"
PIDS=()
OUT=$(mktemp -d /tmp/pp-labtest-XXXXXX)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; for f in "$OUT"/*.log; do [[ -f $f ]] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

cleanup() {
  local status=$?
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  "$LABSH" down "$LAB" >/dev/null 2>&1 || true
  # Sanitizer builds: a report from any node or client fails the test.
  if grep -lE "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$OUT"/*.log 2>/dev/null; then
    grep -hE -A12 "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$OUT"/*.log | head -60
    status=1
  fi
  [[ -n ${PP_KEEP:-} ]] || rm -rf "$OUT"   # PP_KEEP=1 keeps the logs for a look
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP   # a killed test still takes its lab down

[[ $(id -u) -eq 0 ]] || skip "the LAN tests build network namespaces and need root"

lab_up() {  # lab_up N [--avahi]
  local why
  why=$("$LABSH" check "${@:2}" 2>&1) || skip "this machine cannot run labs: $why"
  "$LABSH" up "$LAB" "$@" > "$OUT/lab.info" || fail "lab.sh up failed"
  BROADCAST=$(sed -n 's/^broadcast=//p' "$OUT/lab.info")
}

# start_node HOST [ppserver options...]: a node with autodiscovery; its PID in NODE_PID[HOST]
declare -A NODE_PID
start_node() {
  local host=$1; shift
  "$LABSH" exec "$LAB" "$host" -- "$BIN/ppserver" -w 2 -a --announce-interval 1 "$@" \
    > "$OUT/$host.log" 2>&1 &
  NODE_PID[$host]=$!
  PIDS+=($!)
}

# wait_log FILE TEXT SECONDS
wait_log() {
  local end=$((SECONDS + $3))
  while ((SECONDS < end)); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# run_client HOST NAME CMD...: runs a client command in HOST, output in $OUT/NAME.log
run_client() {
  local host=$1 name=$2; shift 2
  "$LABSH" exec "$LAB" "$host" -- "$@" > "$OUT/$name.log" 2>&1
}
