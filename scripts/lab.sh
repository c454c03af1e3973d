#!/usr/bin/env bash
# lab.sh: a LAN of N hosts built from network namespaces, for ppcluster's multi-host tests.
#
#   lab.sh check [--avahi]                        exit 0 if labs can run here, else say why, exit 1
#   lab.sh up LAB N [--avahi]                     build the lab, print its info (see `info`)
#   lab.sh info LAB                               key=value lines: subnet, broadcast, hN=address...
#   lab.sh exec LAB hI [--pidfile F] -- CMD...    run CMD on host hI; CMD's exit status is returned
#   lab.sh link LAB hI down|up                    unplug / replug hI's cable (its port on the bridge)
#   lab.sh down LAB                               remove everything; idempotent, works on half labs
#
# Layout: namespace LAB-br holds bridge br0; each namespace LAB-hI holds veth eth0 (peer "hI" on
# br0), address 10.213.X.I/24, lo up and a `default dev eth0` route (255.255.255.255 needs one).
# The root namespace gets no interface and no address, so nothing can reach a real network.
# With --avahi each host runs its own dbus-daemon and avahi-daemon over a private /run.
# State lives in $PPLAB_STATE_ROOT/LAB (default /tmp/pplab/LAB); files listed in set_lab.
set -euo pipefail

STATE_ROOT=${PPLAB_STATE_ROOT:-/tmp/pplab}
NET=10.213
AVAHI_WAIT_S=15

log() { echo "lab.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# --- names and state ------------------------------------------------------------------------
# A LAB name becomes part of namespace names and of avahi host names (DNS labels): keep it plain.
set_lab() {
  LAB=$1
  [[ $LAB =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,23}$ ]] || die "bad lab name '$LAB' (letters, digits, -)"
  STATE=$STATE_ROOT/$LAB   # files: subnet (X), hosts (N), avahi (flag), pids ("hI comm PID")
}                          # dirs: hI/run (that host's /run), hI/avahi-daemon.conf
lab_namespaces() { ip netns list | awk -v l="$LAB" '$1 ~ "^" l "-(br|h[0-9]+)$" {print $1}'; }
need_lab() { [[ -f $STATE/hosts ]] || die "no lab '$LAB' (run: lab.sh up $LAB N)"; }
# Host argument "hI" -> HOST, NS, HRUN; checked against the lab's size.
set_host() {
  [[ $1 =~ ^h([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] <= $(<"$STATE/hosts"))) \
    || die "no host '$1' in lab $LAB (h1..h$(<"$STATE/hosts"))"
  HOST=$1 NS=$LAB-$1 HRUN=$STATE/$1/run
}

# Two labs should not share 10.213.X (it would only confuse a reader: each lab is isolated).
# Start at a hash of the name; claim X atomically with a symlink subnet-X -> LAB.
claim_subnet() {
  local x=$(( $(cksum <<<"$LAB" | cut -d' ' -f1) % 254 + 1 )) tries=0 link owner
  while ((tries < 254)); do
    link=$STATE_ROOT/subnet-$x
    if ln -sT "$LAB" "$link" 2>/dev/null; then echo "$x" >"$STATE/subnet"; return; fi
    owner=$(readlink "$link" || true)
    if [[ -n $owner && ! -d $STATE_ROOT/$owner ]]; then rm -f "$link"; continue; fi  # stale claim
    x=$((x % 254 + 1)); tries=$((tries + 1))
  done
  die "no free subnet in $NET.0.0/16"
}

# --- processes ------------------------------------------------------------------------------
# Dead means gone or a zombie: PID 1 reaps orphaned daemons only after a few seconds.
alive() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [[ $s != Z ]]; }
# Stop one PID: TERM, up to 5 s for it to die, then KILL. Only when its command name matches,
# so a recorded PID that was reused by someone else's process is left alone.
stop_pid() {
  local pid=$1 comm=${2:-} t
  alive "$pid" || return 0
  [[ -z $comm || $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((t = 0; t < 50; t++)); do alive "$pid" || return 0; sleep 0.1; done
  log "PID $pid ($comm) ignored TERM, killing"; kill -KILL "$pid" 2>/dev/null || true
  for ((t = 0; t < 50; t++)); do alive "$pid" || return 0; sleep 0.1; done
  log "PID $pid still alive"
}

# --- avahi ----------------------------------------------------------------------------------
write_avahi_conf() {   # $1 = host name; IPv4 only, eth0 only, publishing on, no wide-area DNS
  cat <<EOF
[server]
host-name=$1
domain-name=local
use-ipv4=yes
use-ipv6=no
allow-interfaces=eth0
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
disable-publishing=no
publish-addresses=yes
publish-hinfo=no
publish-workstation=no
[reflector]
enable-reflector=no
EOF
}

# Starts dbus-daemon and avahi-daemon inside host $HOST. `ip netns exec` gives the shell a
# private mount namespace, so the bind mount over /run is seen only by it and the daemons,
# and it disappears with them. Both daemons then use their stock paths (/run/dbus/...,
# /run/avahi-daemon/...), which land in $HRUN, readable from the root namespace.
start_daemons() {
  mkdir -p "$HRUN/dbus" "$HRUN/avahi-daemon"
  write_avahi_conf "$NS" >"$STATE/$HOST/avahi-daemon.conf"
  # In the background + `wait`: bash runs a trap (INT/TERM -> clean up) only once a foreground
  # child has finished, but interrupts `wait` at once. `timeout` bounds a daemon that hangs.
  timeout 20 ip netns exec "$NS" sh -c '
    mount --bind "$1" /run || exit 1
    dbus-daemon --system --fork || exit 1
    avahi-daemon --daemonize --no-chroot --no-drop-root -f "$2"' sh "$HRUN" \
    "$STATE/$HOST/avahi-daemon.conf" >>"$STATE/$HOST/daemons.log" 2>&1 &
  local rc=0; wait $! || rc=$?; record_pids
  ((rc == 0)) || die "daemons failed in $HOST (status $rc$( ((rc == 124)) && echo ', timed out')):" \
    "$(tail -3 "$STATE/$HOST/daemons.log")"
}
record_pids() {   # both daemons write pid files; record them once, for `down`
  local f comm
  for comm in dbus-daemon avahi-daemon; do
    f=$HRUN/dbus/pid; [[ $comm == avahi-daemon ]] && f=$HRUN/avahi-daemon/pid
    [[ -s $f ]] && ! grep -q "^$HOST $comm " "$STATE/pids" 2>/dev/null \
      && echo "$HOST $comm $(<"$f")" >>"$STATE/pids"
  done
  return 0
}
# "Really up" = the daemon answers on D-Bus and its server state is RUNNING (2), i.e. it has
# finished probing its host name and will publish. The D-Bus socket is a file, so the root
# namespace can ask directly (this only talks to that host's bus, never to a network).
wait_avahi() {
  local t
  for ((t = 0; t < AVAHI_WAIT_S * 10; t++)); do
    DBUS_SYSTEM_BUS_ADDRESS=unix:path=$HRUN/dbus/system_bus_socket dbus-send --system \
      --print-reply --reply-timeout=500 --dest=org.freedesktop.Avahi / \
      org.freedesktop.Avahi.Server.GetState 2>/dev/null | grep -q 'int32 2' && return 0
    sleep 0.1
  done
  die "avahi-daemon in $HOST not running after ${AVAHI_WAIT_S}s"
}

# --- commands -------------------------------------------------------------------------------
cmd_check() {
  local why=() ns=pplab-check-$$ b
  [[ $(id -u) == 0 ]] || why+=("not root")
  command -v ip >/dev/null || why+=("no ip (install iproute2)")
  if ((${#why[@]} == 0)); then
    if ip netns add "$ns" 2>/dev/null; then
      { ip -n "$ns" link add br0 type bridge && ip -n "$ns" link add eth0 type veth peer name p0; } \
        >/dev/null 2>&1 || why+=("cannot create a bridge/veth in a network namespace")
      if [[ ${1:-} == --avahi ]]; then
        ip netns exec "$ns" sh -c 'mount --bind /tmp /run' 2>/dev/null \
          || why+=("cannot bind-mount inside ip netns exec")
      fi
      ip netns del "$ns"
    else why+=("ip netns add fails (no CAP_SYS_ADMIN or no netns support)"); fi
  fi
  if [[ ${1:-} == --avahi ]]; then
    for b in avahi-daemon dbus-daemon dbus-send unshare; do
      command -v "$b" >/dev/null || why+=("no $b (packages: avahi-daemon dbus util-linux)")
    done
    [[ -e /usr/share/dbus-1/system.d/avahi-dbus.conf || -e /etc/dbus-1/system.d/avahi-dbus.conf ]] \
      || why+=("no D-Bus policy for avahi (package avahi-daemon)")
  fi
  ((${#why[@]} == 0)) && { echo "lab.sh: ok"; return 0; }
  printf 'lab.sh: cannot run labs: %s\n' "${why[@]}"; return 1
}

cmd_up() {
  (($# >= 2)) || die "usage: lab.sh up LAB N [--avahi]"
  set_lab "$1"; local n=$2 avahi=${3:-} i
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 250)) || die "N must be 1..250"
  [[ -z $avahi || $avahi == --avahi ]] || die "unknown option $avahi"
  [[ $(id -u) == 0 ]] || die "must run as root"
  [[ ! -e $STATE && -z $(lab_namespaces) ]] || die "lab $LAB exists (run: lab.sh down $LAB)"
  mkdir -p "$STATE"
  # Any failure or signal from here on tears the half-built lab down again.
  trap 'rc=$?; trap - EXIT; log "up failed, cleaning up"; cmd_down "$LAB" >/dev/null; exit $((rc ? rc : 1))' EXIT
  trap 'exit 130' INT TERM HUP
  claim_subnet; local x; x=$(<"$STATE/subnet")
  echo "$n" >"$STATE/hosts"; [[ -n $avahi ]] && touch "$STATE/avahi"

  ip netns add "$LAB-br"
  ip -n "$LAB-br" link set lo up
  ip -n "$LAB-br" link add br0 type bridge
  ip -n "$LAB-br" link set br0 up
  for ((i = 1; i <= n; i++)); do
    # Create the veth inside the host and push its peer into the bridge namespace, so not
    # even a transient interface appears in the root namespace.
    ip netns add "$LAB-h$i"
    ip -n "$LAB-h$i" link add eth0 type veth peer name "h$i" netns "$LAB-br"
    ip -n "$LAB-br" link set "h$i" master br0 up
    ip -n "$LAB-h$i" addr add "$NET.$x.$i/24" broadcast + dev eth0
    ip -n "$LAB-h$i" link set lo up
    ip -n "$LAB-h$i" link set eth0 up
    ip -n "$LAB-h$i" route add default dev eth0
  done
  if [[ -n $avahi ]]; then
    for ((i = 1; i <= n; i++)); do set_host "h$i"; start_daemons; done
    for ((i = 1; i <= n; i++)); do set_host "h$i"; wait_avahi; done
  fi
  trap - EXIT INT TERM HUP
  cmd_info "$LAB"
}

cmd_info() {
  set_lab "${1:?usage: lab.sh info LAB}"; need_lab
  local x n i; x=$(<"$STATE/subnet") n=$(<"$STATE/hosts")
  echo "lab=$LAB"; echo "subnet=$NET.$x.0/24"; echo "broadcast=$NET.$x.255"; echo "hosts=$n"
  echo "avahi=$([[ -f $STATE/avahi ]] && echo yes || echo no)"; echo "state=$STATE"
  for ((i = 1; i <= n; i++)); do echo "h$i=$NET.$x.$i"; done
}

# The chain lab.sh -> ip netns exec -> unshare -> sh -> CMD uses exec at every step, so the PID a
# caller gets from `lab.sh exec ... &` ($!) is CMD's own PID once it runs: kill it directly.
# --pidfile writes that PID too. The UTS namespace gives CMD gethostname() == LAB-hI; with
# avahi, /run is this host's /run (so /run/avahi-daemon/socket, used by nss-mdns, resolves).
cmd_exec() {
  (($# >= 3)) || die "usage: lab.sh exec LAB hI [--pidfile F] -- CMD..."
  set_lab "$1"; need_lab; set_host "$2"; shift 2
  local pidfile=""
  while (($#)) && [[ $1 != -- ]]; do
    case $1 in --pidfile) pidfile=${2:?--pidfile needs a file}; shift 2 ;; *) die "unknown option $1" ;; esac
  done
  [[ ${1:-} == -- ]] && shift; (($#)) || die "exec: no command"
  local x run=""; x=$(<"$STATE/subnet")
  export PPLAB=$LAB PPLAB_HOST=$HOST PPLAB_ADDR=$NET.$x.${HOST#h} PPLAB_BROADCAST=$NET.$x.255
  if [[ -f $STATE/avahi ]]; then
    export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$HRUN/dbus/system_bus_socket; run=$HRUN
  fi
  [[ -n $pidfile ]] && echo $$ >"$pidfile"
  export PPLAB_RUN=$run
  exec ip netns exec "$NS" unshare --uts sh -c '
    hostname "$0"
    if [ -n "$PPLAB_RUN" ]; then mount --bind "$PPLAB_RUN" /run || exit 125; fi
    unset PPLAB_RUN; exec "$@"' "$NS" "$@"
}

cmd_link() {
  (($# == 3)) && [[ $3 == up || $3 == down ]] || die "usage: lab.sh link LAB hI down|up"
  set_lab "$1"; need_lab; set_host "$2"
  # Unplug at the bridge port: the host keeps its address and routes and sees carrier loss,
  # as with a pulled cable; `up` brings it back without reconfiguring the host.
  ip -n "$LAB-br" link set "$HOST" "$3"
}

cmd_down() {
  set_lab "${1:?usage: lab.sh down LAB}"
  local host comm pid ns x
  # 1. Daemons we recorded, by PID (names checked, see stop_pid).
  if [[ -f $STATE/pids ]]; then
    while read -r host comm pid; do stop_pid "$pid" "$comm"; done <"$STATE/pids"
  fi
  # 2. Anything still inside the lab's namespaces: unrecorded daemons of an interrupted `up`,
  #    or processes a test started with `exec` and forgot. They all live in our namespaces.
  for ns in $(lab_namespaces); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      log "stopping leftover PID $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) in $ns"
      stop_pid "$pid"
    done
    ip netns del "$ns" || log "could not delete namespace $ns"
  done
  # 3. State and the subnet claim. The /run bind mounts lived in the daemons' private mount
  #    namespaces and vanished with them; nothing was mounted in the root namespace.
  [[ -f $STATE/subnet ]] && x=$(<"$STATE/subnet") \
    && [[ $(readlink "$STATE_ROOT/subnet-$x" 2>/dev/null) == "$LAB" ]] && rm -f "$STATE_ROOT/subnet-$x"
  rm -rf "$STATE"; rmdir "$STATE_ROOT" 2>/dev/null || true
  echo "lab $LAB down"
}

case ${1:-} in
  check) shift; cmd_check "$@" ;;
  up) shift; cmd_up "$@" ;;
  info) shift; cmd_info "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  link) shift; cmd_link "$@" ;;
  down) shift; cmd_down "$@" ;;
  *) sed -n '2,10s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
