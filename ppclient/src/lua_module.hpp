// pp.core, the C side of the Lua driver API (lua/pp.lua builds on it), and what a
// host program may ask of it. Plain luajit loads it as lib/lua/5.1/pp/core.so;
// `ppclient run` preloads luaopen_pp_core and sets its RunOptions first.
#pragma once

#include <lua.hpp>

#include <optional>
#include <string>
#include <vector>

namespace pp::client {

// What `ppclient run`'s options ask of every cluster its script makes, on top of what
// the script's pp.server{} says (the command line is the user's last word). Kept in the
// Lua state's registry; applied by read_cluster_options (lua_options.cpp). A new option
// of `ppclient run` is a field here and a line there.
struct RunOptions {
  std::string report;              // --report: each cluster's report, written when it closes
  bool discover = false;           // --discover: also every node found on the LAN
  bool no_echo = false;            // --no-echo: no cluster echoes what its jobs print
  std::vector<std::string> nodes;  // --nodes: these nodes instead of the script's ppservers
  std::string secret;              // --secret-file's secret (may hold NUL bytes); "" = none
  std::string journal;             // --journal: the journal file of every cluster
  std::optional<bool> progress;    // --progress / --no-progress (unset: the script's, or a tty)
  // --dashboard [ADDRESS:]PORT, --dashboard-linger S: for a cluster that names none.
  std::string dashboard;
  double dashboard_linger = 0;
};

void set_run_options(lua_State* L, const RunOptions& options);

}  // namespace pp::client

extern "C" int luaopen_pp_core(lua_State* L);
