// What a job sees of the worker it runs on: the `worker` global's id and node
// (lua/pp/worker.lua builds the table; worker.state lives there too).
//
// The node passes its advertised "host:port" to each worker it spawns
// (--worker-node); a worker k of that node (1-based) is "host:port#k". Both are
// left in package.loaded["pp.worker_identity"] before pp.worker is loaded, in
// each fresh Lua state (a WORKER_RESET wipes worker.state with the rest).
#pragma once

#include <lua.hpp>

#include <string>

namespace pp::server {

// "host:port#k" for the worker with 0-based `index` on `node`.
std::string worker_id(const std::string& node, int index);

// Sets package.loaded["pp.worker_identity"] = { id = ..., node = ... }.
void install_worker_identity(lua_State* L, const std::string& node, int index);

}  // namespace pp::server
