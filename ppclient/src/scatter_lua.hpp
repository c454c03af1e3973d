// The Lua side of scattered values (js:scatter in lua/pp.lua): a handle is a userdata
// holding the value's SharedData (scatter.hpp); it packs, at any depth of a job's
// arguments, as the value's handle (core/proto/data_ref.hpp) and the job holds the
// value until its result is in. h:release() drops the handle's hold at once, its
// collection likewise; the nodes free the value when no handle and no job holds it.
#pragma once

#include <lua.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/util/status.hpp"
#include "ppclient/src/scatter.hpp"

namespace pp::client {

class JobServer;

// Registers the handle's metatable.
void open_lua_shared(lua_State* L);
// c:scatter(value [, broadcast]) for the cluster of `server`: the value at `value`
// packed and scattered; pushes the handle, or raises an error naming what is wrong
// (a value that cannot be packed, or one larger than every connected node takes).
int lua_scatter(lua_State* L, JobServer& server, int value, bool broadcast);
// For a job's packing hook: the handle at `index` packed into `out` and noted in
// `data`; kNotFound when the value is no handle, an error for a released one.
Status pack_shared(lua_State* L, int index, std::string& out,
                   std::vector<std::shared_ptr<const SharedData>>& data);

}  // namespace pp::client
