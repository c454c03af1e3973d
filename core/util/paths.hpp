// Locating the installation: binaries, Lua modules and kernels are found relative
// to a known file (the running executable, or a loaded shared object), because the
// build tree mirrors the install tree (bin/, lib/, share/lua/5.1, lib/lua/5.1).
// Environment variables override each (PP_SERVER, PP_LUA_PATH, PP_KERNELS).
#pragma once

#include <string>

namespace pp::paths {

// Directory of the running executable ("" if unknown).
std::string exe_dir();
// Directory of the shared object or executable containing `address`.
std::string module_dir(const void* address);
// Installation prefix given a binary directory (its parent).
std::string prefix_of(const std::string& bin_dir);
// Lua search path for the prefix: "<prefix>/share/lua/5.1/?.lua;...".
std::string lua_path(const std::string& prefix);
std::string lua_cpath(const std::string& prefix);
// The kernel library of the prefix, or $PP_KERNELS.
std::string kernel_library(const std::string& prefix);
bool is_executable(const std::string& path);

}  // namespace pp::paths
