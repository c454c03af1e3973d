# scripts/ccache.sh -- sourced by build.sh and package.sh (never run): PP_LAUNCHER, the CMake
# options that compile through ccache when it is installed (else none). Paths under the
# source tree are hashed relative to it and the build directory is not hashed, so build
# directories with the same flags share objects: the package's build (CMAKE_INSTALL_PREFIX
# /usr, tests off) reuses the plain build's, all but the one file that names the prefix.
# A caller's own CCACHE_BASEDIR / CCACHE_NOHASHDIR win.
PP_LAUNCHER=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
  export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
  PP_LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
