#include "ppserver/worker_values.hpp"

#include "core/proto/auth.hpp"
#include "core/proto/data_ref.hpp"

namespace pp::server {

void WorkerValues::take(lua_State* L, proto::WorkerData&& data) {
  auto it = values_.find(data.hash);
  if (data.bytes.empty()) {
    if (it == values_.end()) return;
    if (it->second.ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, it->second.ref);
    values_.erase(it);
    return;
  }
  if (it != values_.end()) return;   // (the node sends a value once per client)
  values_.emplace(std::move(data.hash), Value{std::move(data.bytes), LUA_NOREF});
}

Status WorkerValues::push_value(void* self, lua_State* L, int8_t type, std::string_view body) {
  if (type != proto::kDataRefExt) {
    return Status(StatusCode::kInvalid, "msgpack ext type " + std::to_string(type) +
                                            " is not a scattered value's handle");
  }
  auto ref = proto::parse_data_ref_body(body);
  if (!ref) return ref.status();
  return static_cast<WorkerValues*>(self)->push(L, ref->hash);
}

Status WorkerValues::push(lua_State* L, const std::string& hash) {
  auto it = values_.find(hash);
  if (it == values_.end()) {
    return Status(StatusCode::kNotFound, "the job names a scattered value (" +
                                             proto::to_hex(hash) +
                                             ") this worker was not sent");
  }
  Value& v = it->second;
  if (v.ref == LUA_NOREF) {
    if (Status st = lua::push(L, v.bytes); !st) {
      return Status(st.code(), "cannot decode the scattered value: " + st.message());
    }
    v.ref = luaL_ref(L, LUA_REGISTRYINDEX);
    std::string().swap(v.bytes);   // decoded once: the Lua value is all that is kept
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, v.ref);
  return Status::ok();
}

}  // namespace pp::server
