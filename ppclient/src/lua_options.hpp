// pp.core.new's options: the Lua table lua/pp.lua builds from pp.server{...}, read as
// ClusterOptions, with what `ppclient run` set for every cluster (RunOptions, kept in
// the Lua state's registry by set_run_options) applied on top.
#pragma once

#include <lua.hpp>

#include "pp/cluster_options.hpp"

namespace pp::client {

// The options table at absolute stack index `t`. On misuse pushes a message and returns false.
bool read_cluster_options(lua_State* L, int t, ClusterOptions& opt);

}  // namespace pp::client
