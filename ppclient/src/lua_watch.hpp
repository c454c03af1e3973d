// The completions object of pp.core (c:watch(jobs [, timeout])): the jobs of a Lua list
// handed back in the order they finish, for js:wait, js:as_completed and the callbacks
// (lua/pp/futures.lua, lua/pp/job.lua). One full userdata: the engine's Completions over
// the list's unfinished jobs (completions.hpp: blocking on a condition variable, O(1) per
// finished job), the place of each in the list (its environment), the jobs finished
// before it was made (yielded first) and the deadline. Used by the driver's thread only.
#pragma once

#include <lua.hpp>

#include <optional>

namespace pp::client {

class JobServer;

// Creates the metatable once per Lua state.
void open_lua_watches(lua_State* L);
// Pushes a watch over the jobs of the list at `list` (args.n or #list of them), every one
// a job of `server`; `timeout_s` (when set) is the deadline of every wait on it, counted
// from now. Raises a Lua error naming the entry that is not a job of `server`.
void push_lua_watch(lua_State* L, JobServer& server, int list, std::optional<double> timeout_s);

}  // namespace pp::client
