# What `cmake --install` (and the Debian package, cmake/Package.cmake) puts beside the
# binaries: the CMake package and pkg-config file of libppclient.so, the man pages,
# bash completion, the systemd unit and the package's documents. The install tree keeps
# the build tree's layout (bin/, lib/, share/lua/5.1), which the binaries rely on to find
# each other; only the Lua C module and the unit go where the system looks for them.
include(CMakePackageConfigHelpers)

# The CMake package: find_package(ppcluster) -> ppcluster::client.
set(PP_CMAKE_DIR lib/cmake/ppcluster)
install(EXPORT ppclusterTargets NAMESPACE ppcluster:: DESTINATION ${PP_CMAKE_DIR})
configure_package_config_file(cmake/ppclusterConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/packaging/ppclusterConfig.cmake
                              INSTALL_DESTINATION ${PP_CMAKE_DIR})
# 0.x: a new minor version may change the API, so only the same major.minor is compatible.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/packaging/ppclusterConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/packaging/ppclusterConfig.cmake
              ${CMAKE_BINARY_DIR}/packaging/ppclusterConfigVersion.cmake
        DESTINATION ${PP_CMAKE_DIR})

# pkg-config ppcluster.
configure_file(cmake/ppcluster.pc.in ${CMAKE_BINARY_DIR}/packaging/ppcluster.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/packaging/ppcluster.pc DESTINATION ${PP_INSTALL_PKGCONFIG_DIR})

# Man pages, compressed as Debian wants them (gzip -n: no name or time stamp inside).
set(pp_man_outputs)
foreach(page ppserver.1 ppclient.1)
  set(out ${CMAKE_BINARY_DIR}/share/man/man1/${page}.gz)
  add_custom_command(OUTPUT ${out}
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/share/man/man1
                     COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/packaging/${page} > ${out}
                     DEPENDS ${PROJECT_SOURCE_DIR}/packaging/${page} VERBATIM)
  list(APPEND pp_man_outputs ${out})
endforeach()
add_custom_target(pp_man_pages ALL DEPENDS ${pp_man_outputs})
install(FILES ${pp_man_outputs} DESTINATION share/man/man1)

install(FILES packaging/completion/ppserver packaging/completion/ppclient
        DESTINATION share/bash-completion/completions)

# The systemd unit, installed (not enabled) with ExecStart= naming the installed ppserver.
file(READ ${PROJECT_SOURCE_DIR}/scripts/ppserver.service pp_unit)
string(REPLACE "/usr/local/bin/ppserver" "${CMAKE_INSTALL_PREFIX}/bin/ppserver" pp_unit
       "${pp_unit}")
file(WRITE ${CMAKE_BINARY_DIR}/packaging/ppserver.service "${pp_unit}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${PROJECT_SOURCE_DIR}/scripts/ppserver.service)
install(FILES ${CMAKE_BINARY_DIR}/packaging/ppserver.service DESTINATION ${PP_INSTALL_UNIT_DIR})

# The package's documents (Debian: copyright and changelog in /usr/share/doc/ppcluster).
set(pp_changelog ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
add_custom_command(OUTPUT ${pp_changelog}
                   COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/packaging/changelog > ${pp_changelog}
                   DEPENDS ${PROJECT_SOURCE_DIR}/packaging/changelog VERBATIM)
add_custom_target(pp_changelog ALL DEPENDS ${pp_changelog})
install(FILES packaging/copyright ${pp_changelog} DESTINATION share/doc/ppcluster)
