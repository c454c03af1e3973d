// pp.core.new's options: the Lua table lua/pp.lua builds from pp.server{...}, read as
// ClusterOptions, with what `ppclient run` set for every cluster (RunOptions, kept in
// the Lua state's registry by set_run_options) applied on top; and c:submit's options.
#pragma once

#include <lua.hpp>

#include <cstdint>
#include <memory>

#include "ppclient/src/submit_extras.hpp"
#include "pp/cluster_options.hpp"

namespace pp::client {

// The options table at absolute stack index `t`. On misuse pushes a message and returns false.
bool read_cluster_options(lua_State* L, int t, ClusterOptions& opt);

// c:submit's options table at absolute index `t`, which lua/pp.lua checked: the job's
// time limit (0: the cluster's job_timeout) and, when it has retries, a node or a
// group, its SubmitExtras (left null otherwise).
void read_submit_options(lua_State* L, int t, uint32_t& timeout_ms,
                         std::unique_ptr<SubmitExtras>& extras);

}  // namespace pp::client
