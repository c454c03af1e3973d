// WorkerValues: the scattered values (js:scatter) a worker holds for its present client.
//
// The node sends a value's bytes once (WORKER_DATA) before the first job that names
// it; the value is decoded into Lua the first time a job's arguments name it (its
// handle, core/proto/data_ref.hpp, resolved through core/lua's ExtHook) and that one
// Lua value is handed to every later job of the client here, so what a job changes
// in it the next jobs see. The bytes are freed once decoded. WORKER_DATA with no
// bytes drops a value no client holds any more; a WORKER_RESET (another client)
// closes the Lua state, and clear() forgets everything with it.
// Part of the worker process: single-threaded.
#pragma once

#include <lua.hpp>

#include <string>
#include <unordered_map>

#include "core/lua/convert.hpp"
#include "core/proto/messages.hpp"

namespace pp::server {

class WorkerValues {
 public:
  // Keeps or (no bytes) drops a value; `L` is the worker's Lua state.
  void take(lua_State* L, proto::WorkerData&& data);
  // The Lua state was closed: every value goes with it.
  void clear() { values_.clear(); }
  // The hook that pushes a handle's value while a job's arguments are decoded.
  lua::ExtHook hook() { return lua::ExtHook{push_value, this}; }

 private:
  struct Value {
    std::string bytes;        // until decoded
    int ref = LUA_NOREF;      // the decoded value, in the registry
  };
  static Status push_value(void* self, lua_State* L, int8_t type, std::string_view body);
  Status push(lua_State* L, const std::string& hash);

  std::unordered_map<std::string, Value> values_;   // hash -> value
};

}  // namespace pp::server
