#!/usr/bin/env bash
# Installs what ppcluster needs to build and test, from Debian 12 packages.
# Idempotent; run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libasio-dev libmsgpack-cxx-dev libluajit-5.1-dev luajit libsodium-dev libcli11-dev doctest-dev
  libavahi-client-dev
)
if [[ "${1:-}" == "--with-test-tools" ]]; then
  PACKAGES+=(iproute2 procps)
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
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
