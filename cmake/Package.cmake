# The Debian package: `cpack -G DEB` in a build dir configured for /usr, which
# scripts/package.sh does (ppcluster_<version>_<arch>.deb). One package holds it all:
# ppserver, ppclient, libppclient.so with its headers, CMake and pkg-config files, the
# Lua modules, man pages, completion and the systemd unit (installed, not enabled).
set(CPACK_PACKAGE_NAME ppcluster)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "ppcluster")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "zero-configuration LAN compute cluster for Lua jobs")
set(CPACK_PACKAGE_DESCRIPTION
    "ppcluster runs LuaJIT job functions with msgpack arguments on the spare\n"
    "machines of a LAN, in the spirit of Parallel Python. ppserver is the node\n"
    "daemon, found by UDP broadcast and mDNS. ppclient runs Lua driver scripts.\n"
    "libppclient is the C++ API.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "ppcluster developers <ppcluster@example.org>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared libraries' packages from dpkg-shlibdeps, plus what the installed headers and the
# Lua modules need that no binary links: msgpack-cxx's headers and the luajit interpreter.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libppkernels.so and libppclient.so are in the package itself (dpkg-shlibdeps runs in the
# staging tree, so this relative folder is the package's /usr/lib).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS usr/lib)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libmsgpack-cxx-dev, luajit")
# libppclient.so.<version> gets a shlibs file. The maintainer scripts are ours: the linker
# cache through a dpkg trigger (not ldconfig in postinst), systemd told of the unit.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY "=")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm ${PROJECT_SOURCE_DIR}/packaging/debian/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
