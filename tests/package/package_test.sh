#!/usr/bin/env bash
# The Debian package as a user gets it: built (scripts/package.sh), installed on this machine
# with apt-get, then used from a directory outside the source tree with a clean environment:
# ppserver --version, man -w, plain `luajit -e 'require "pp"'` running a job, a CMake project
# with find_package(ppcluster) and a program built with pkg-config, each running jobs on local
# workers. Then removed with apt-get remove --purge, also when a step failed (a trap), with
# every package the install brought in: the machine is left as it was.
#   package_test.sh SOURCE_DIR PACKAGE_BUILD_DIR
# Needs root; exits 77 (skipped, with the reason) otherwise.
set -euo pipefail
SRC=$(cd "$1" && pwd)
PKG_BUILD=$2
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: the package test installs a Debian package on this machine: run it as root"
  exit 77
fi
if [[ $(dpkg-query -W -f='${Status}' ppcluster 2>/dev/null || true) == "install ok installed" ]]; then
  echo "SKIP: ppcluster is already installed on this machine; the test would replace it"
  exit 77
fi
fail() { echo "FAIL: $*"; exit 1; }

WORK=$(mktemp -d /tmp/pp-package-XXXXXX)
installed_before=$(dpkg-query -W -f='${Package}\n' | sort)
cleanup() {
  local status=$?
  local added
  added=$(comm -13 <(echo "$installed_before") <(dpkg-query -W -f='${Package}\n' | sort))
  if [[ -n $added ]]; then
    echo "removing: $added"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -qq $added >/dev/null ||
      { echo "FAIL: could not remove $added"; status=1; }
  fi
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT

echo "=== building the package"
bash "$SRC/scripts/package.sh" "$PKG_BUILD"
cp "$PKG_BUILD"/ppcluster_*.deb "$WORK/"
cd "$WORK"
echo "=== installing it"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ./ppcluster_*.deb \
  >apt.log 2>&1 || { cat apt.log; fail "apt-get install"; }

# From here on, a user's shell: no variable of the build or the tests.
user() { env -i PATH=/usr/bin:/bin HOME="$WORK" "$@"; }

[[ $(user sh -c 'command -v ppserver') == /usr/bin/ppserver ]] || fail "ppserver is not /usr/bin's"
[[ $(user ppserver --version) == "ppserver "* ]] || fail "ppserver --version"
[[ $(user ppclient --version) == "ppclient "* ]] || fail "ppclient --version"
[[ $(user man -w ppserver) == /usr/share/man/man1/ppserver.1.gz ]] || fail "man -w ppserver"
[[ $(user man -w ppclient) == /usr/share/man/man1/ppclient.1.gz ]] || fail "man -w ppclient"
[[ $(user bash -c 'source /usr/share/bash-completion/completions/ppclient; complete -p ppclient') \
   == *_ppclient* ]] || fail "the ppclient completion"
[[ -f /lib/systemd/system/ppserver.service ]] || fail "no systemd unit"
grep -q "^ExecStart=/usr/bin/ppserver " /lib/systemd/system/ppserver.service ||
  fail "the unit does not start /usr/bin/ppserver"
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify --man=no /lib/systemd/system/ppserver.service 2>&1) ||
    fail "systemd-analyze verify: $out"
  [[ -z $out ]] || fail "systemd-analyze verify: $out"
else
  echo "(systemd-analyze is not installed: the unit's syntax is not checked)"
fi
echo "binaries, man pages, completion, unit: ok"

# Plain luajit, no settings: the modules from where Debian's luajit looks.
out=$(user luajit -e '
  local pp = require "pp"
  assert(package.searchpath("pp", package.path) == "/usr/share/lua/5.1/pp.lua",
         "pp.lua from " .. tostring(package.searchpath("pp", package.path)))
  local js = pp.server{ ncpus = 2 }
  local job = js:submit(function(x) return x * x end, { 7 })
  assert(job() == 49)
  js:destroy()
  print("luajit: require \"pp\" ran a job: ok")') || fail "luajit: $out"
echo "$out"

# C++ through find_package(ppcluster).
cp -r "$SRC/tests/package/consumer" "$WORK/cmake-project"
user cmake -S cmake-project -B cmake-build -DCMAKE_BUILD_TYPE=Release >cmake.log 2>&1 ||
  { cat cmake.log; fail "configuring a project with find_package(ppcluster)"; }
user cmake --build cmake-build >>cmake.log 2>&1 || { cat cmake.log; fail "building it"; }
# (/lib is /usr/lib on a merged-/usr system.)
# (Not `ldd | grep -q`: grep's early exit would fail the pipe under pipefail.)
libs=$(ldd cmake-build/app)
grep -qE "libppclient.so.0.1.0 => (/usr)?/lib/libppclient.so.0.1.0" <<< "$libs" ||
  { echo "$libs"; fail "the CMake project's program does not use /usr/lib/libppclient.so"; }
user ./cmake-build/app || fail "the CMake project's program"

# C++ through pkg-config.
# shellcheck disable=SC2046
user g++ -std=c++20 -o pc-app cmake-project/app.cpp $(user pkg-config --cflags --libs ppcluster) ||
  fail "building with pkg-config ppcluster"
user ./pc-app || fail "the pkg-config program"

echo "=== removing it"
DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -qq ppcluster >apt.log 2>&1 ||
  { cat apt.log; fail "apt-get remove --purge ppcluster"; }
for f in /usr/bin/ppserver /usr/lib/libppclient.so.0.1.0 /usr/share/lua/5.1/pp.lua \
         /usr/lib/cmake/ppcluster /lib/systemd/system/ppserver.service; do
  [[ ! -e $f ]] || fail "$f is left after the package was removed"
done
echo "package: all ok"
