#!/usr/bin/env bash
# Builds the Debian package of ppcluster and checks it with lintian:
#   scripts/package.sh [BUILD_DIR] [extra cmake options...]
# -> BUILD_DIR/ppcluster_<version>_<arch>.deb (BUILD_DIR defaults to build-pkg). The build is
# configured for /usr, without RPATHs (everything is on the system's library path there),
# and only what the package holds is built. Install it with
#   apt-get install ./build-pkg/ppcluster_*.deb
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build-pkg}"
shift || true
. "$ROOT/scripts/ccache.sh"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_SKIP_INSTALL_RPATH=ON -DPP_BUILD_TESTS=OFF \
  "${PP_LAUNCHER[@]}" "$@" >/dev/null
# What the install rules name (cmake/Install.cmake and the targets' install() calls).
cmake --build "$BUILD" -j "$(nproc)" --target ppserver ppclient pp_core_lua ppclient_shared \
  ppkernels pp_man_pages pp_changelog
rm -f "$BUILD"/ppcluster_*.deb
(cd "$BUILD" && cpack -G DEB >/dev/null)
deb=$(ls "$BUILD"/ppcluster_*.deb)
if command -v lintian >/dev/null; then
  # Errors fail the build; warnings are listed.
  lintian --fail-on error --tag-display-limit 0 "$deb"
else
  echo "package.sh: lintian is not installed (scripts/install-deps.sh --with-test-tools): not checked"
fi
echo "package.sh: $deb"
