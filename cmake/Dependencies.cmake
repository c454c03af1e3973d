# Third-party dependencies, all from Debian packages (see scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# Asio standalone ships neither a CMake config nor a .pc file.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(pp_asio INTERFACE)
target_include_directories(pp_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# Asio chooses aligned_alloc or operator new per translation unit, depending on
# include order, and recycles handler memory across units: make every unit agree.
target_compile_definitions(pp_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
                           ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(pp_asio INTERFACE Threads::Threads)

# msgpack-cxx: its own CMake config pulls in Boost, so use the headers directly.
find_path(MSGPACK_INCLUDE_DIR msgpack.hpp REQUIRED)
add_library(pp_msgpack INTERFACE)
target_include_directories(pp_msgpack SYSTEM INTERFACE ${MSGPACK_INCLUDE_DIR})
target_compile_definitions(pp_msgpack INTERFACE MSGPACK_NO_BOOST)

pkg_check_modules(LUAJIT REQUIRED IMPORTED_TARGET luajit)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
# sd_notify (ppserver under a Type=notify systemd unit).
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)

# JSON (the report's file, the dashboard's API) and the dashboard's HTTP server. Debian
# builds cpp-httplib as a shared library; its .pc carries the defines it was built with.
find_package(nlohmann_json 3 CONFIG REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
add_library(pp_cli11 INTERFACE)
target_include_directories(pp_cli11 SYSTEM INTERFACE ${CLI11_INCLUDE_DIR})

if(PP_BUILD_TESTS)
  find_package(doctest CONFIG REQUIRED)
endif()
