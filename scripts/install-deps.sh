#!/usr/bin/env bash
# Installs what ppcluster needs to build and test, from Debian 12 packages.
# Idempotent; run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libasio-dev libmsgpack-cxx-dev libluajit-5.1-dev luajit libsodium-dev libcli11-dev doctest-dev
  libavahi-client-dev nlohmann-json3-dev libcpp-httplib-dev libsystemd-dev
  # Shares compiled objects between build directories of the same flags (scripts/build.sh):
  # the package's build (scripts/package.sh) reuses the plain build's.
  ccache
)
if [[ "${1:-}" == "--with-test-tools" ]]; then
  # The LAN tests: network namespaces, and dbus + avahi-daemon inside them.
  PACKAGES+=(iproute2 procps util-linux dbus avahi-daemon avahi-utils)
  # The stand-in systemd-logind of tests/lab/user_active.sh (python3-dbus on a GLib loop).
  PACKAGES+=(python3-dbus python3-gi)
  # The fuzz build (scripts/fuzz.sh): clang, its runtimes (libFuzzer, ASan, UBSan), and
  # llvm-symbolizer for readable crash reports.
  PACKAGES+=(clang libclang-rt-dev llvm)
  # The dashboard's browser test: headless Chromium driven by Selenium, and curl.
  PACKAGES+=(chromium chromium-driver python3-selenium curl)
  # The package test (tests/package): the Debian package checked by lintian, then used as a
  # user would (man -w; file is what CPack's dependency scan runs).
  PACKAGES+=(lintian man-db file)
fi
if [[ "${1:-}" == "--with-bench" ]]; then
  PACKAGES+=(python3 python3-distributed python3-ipyparallel python3-numpy)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO=sudo
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
# Packages such as avahi-daemon would start their service in this (root) namespace,
# which would multicast onto the real network: forbid service starts while installing.
guard=""
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  guard=1
fi
status=0
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" || status=$?
[[ -n $guard ]] && $SUDO rm -f /usr/sbin/policy-rc.d
exit $status
