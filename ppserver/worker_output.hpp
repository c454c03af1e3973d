// Capture of what a job prints, in the worker process.
//
// install_output_capture() makes `print` and a `write` that append to the running
// job's output area in the RunningPage (worker_process_page.hpp) and leaves them in
// package.loaded["pp.worker_output"], where lua/pp/worker.lua, loaded next, puts them
// in place of print, io.write and the writes to io.stdout / io.stderr. Written as the
// job prints, so the node finds the output even if the worker then dies. The page
// must outlive the Lua state (both are the Worker's). Worker thread only.
#pragma once

#include <lua.hpp>

#include "ppserver/worker_process_page.hpp"

namespace pp::server {

void install_output_capture(lua_State* L, RunningPage* page);

}  // namespace pp::server
