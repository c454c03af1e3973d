#include "core/util/paths.hpp"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <cstdlib>

namespace pp::paths {
namespace {

std::string dirname_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  buf[n] = '\0';
  return dirname_of(buf);
}

std::string module_dir(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0 || info.dli_fname == nullptr) return "";
  char real[PATH_MAX];
  if (realpath(info.dli_fname, real) == nullptr) return dirname_of(info.dli_fname);
  return dirname_of(real);
}

std::string prefix_of(const std::string& bin_dir) { return dirname_of(bin_dir); }

std::string lua_path(const std::string& prefix) {
  if (const char* env = std::getenv("PP_LUA_PATH")) return env;
  return prefix + "/share/lua/5.1/?.lua;" + prefix + "/share/lua/5.1/?/init.lua";
}

std::string lua_cpath(const std::string& prefix) { return prefix + "/lib/lua/5.1/?.so"; }

std::string kernel_library(const std::string& prefix) {
  if (const char* env = std::getenv("PP_KERNELS")) return env;
  return prefix + "/lib/libppkernels.so";
}

bool is_executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

}  // namespace pp::paths
