// pp.core, the C side of the Lua driver API (lua/pp.lua builds on it), and what a
// host program may ask of it. Plain luajit loads it as lib/lua/5.1/pp/core.so;
// `ppclient run` preloads luaopen_pp_core and sets its RunOptions first.
#pragma once

#include <lua.hpp>

#include <optional>
#include <string>

namespace pp::client {

// What `ppclient run` asks of every cluster its script makes: the report of each
// written to `report` when it closes (--report), and every node on the LAN for a
// script that names none (--discover). Kept in the Lua state's registry.
struct RunOptions {
  std::string report;
  bool discover = false;
  bool no_echo = false;   // --no-echo: no cluster echoes what its jobs print
  std::optional<bool> progress;   // --progress / --no-progress (unset: the script's, or a tty)
  // --dashboard [ADDRESS:]PORT, --dashboard-linger S: for a cluster that names none.
  std::string dashboard;
  double dashboard_linger = 0;
};

void set_run_options(lua_State* L, const RunOptions& options);

}  // namespace pp::client

extern "C" int luaopen_pp_core(lua_State* L);
