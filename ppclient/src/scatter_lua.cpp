#include "ppclient/src/scatter_lua.hpp"

#include <memory>

#include "core/lua/convert.hpp"
#include "core/proto/data_ref.hpp"
#include "ppclient/src/job_server.hpp"

namespace pp::client {
namespace {

constexpr char kSharedMeta[] = "pp.core.shared";

// The userdata's block holds one of these (made with construct_at, ended by __gc).
struct LuaShared {
  std::shared_ptr<const SharedData> data;   // null once released
};

LuaShared* as_shared(lua_State* L, int index) {
  if (lua_type(L, index) != LUA_TUSERDATA || !lua_getmetatable(L, index)) return nullptr;
  luaL_getmetatable(L, kSharedMeta);
  const bool same = lua_rawequal(L, -1, -2) != 0;
  lua_pop(L, 2);
  return same ? static_cast<LuaShared*>(lua_touserdata(L, index)) : nullptr;
}

LuaShared& check_shared(lua_State* L) {
  LuaShared* s = as_shared(L, 1);
  if (s == nullptr) luaL_typerror(L, 1, "scattered value");
  return *s;
}

// h:release(): this handle's hold ends now (jobs that name the value keep theirs).
int l_release(lua_State* L) {
  check_shared(L).data.reset();
  return 0;
}

// h:size() -> bytes of the packed value (nil once released).
int l_size(lua_State* L) {
  LuaShared& s = check_shared(L);
  if (!s.data) return 0;
  lua_pushnumber(L, static_cast<lua_Number>(s.data->size()));
  return 1;
}

int l_tostring(lua_State* L) {
  LuaShared& s = check_shared(L);
  if (!s.data) {
    lua_pushliteral(L, "scattered value (released)");
  } else {
    lua_pushfstring(L, "scattered value of %f bytes", static_cast<double>(s.data->size()));
  }
  return 1;
}

int l_gc(lua_State* L) {
  std::destroy_at(static_cast<LuaShared*>(lua_touserdata(L, 1)));
  return 0;
}

const luaL_Reg kMethods[] = {{"release", l_release}, {"size", l_size}, {nullptr, nullptr}};

}  // namespace

void open_lua_shared(lua_State* L) {
  luaL_newmetatable(L, kSharedMeta);
  lua_newtable(L);
  luaL_register(L, nullptr, kMethods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, l_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
}

int lua_scatter(lua_State* L, JobServer& server, int value, bool broadcast) {
  std::string bytes;
  if (Status st = lua::pack(L, value, bytes, "the scattered value"); !st) {
    return luaL_error(L, "cannot scatter: %s", st.message().c_str());
  }
  auto data = server.scatter(std::move(bytes), broadcast);
  if (!data) return luaL_error(L, "%s", data.status().message().c_str());
  auto* s = std::construct_at(static_cast<LuaShared*>(lua_newuserdata(L, sizeof(LuaShared))));
  s->data = std::move(*data);
  luaL_getmetatable(L, kSharedMeta);
  lua_setmetatable(L, -2);
  return 1;
}

Status pack_shared(lua_State* L, int index, std::string& out,
                   std::vector<std::shared_ptr<const SharedData>>& data) {
  LuaShared* s = as_shared(L, index);
  if (s == nullptr) return Status(StatusCode::kNotFound, "");
  if (!s->data) {
    return Status(StatusCode::kInvalid,
                  "a released scattered value cannot be an argument (h:release() was called)");
  }
  proto::put_data_ref(out, proto::DataRef{s->data->hash, s->data->size()});
  for (const auto& d : data) {
    if (d == s->data) return Status::ok();
  }
  data.push_back(s->data);
  return Status::ok();
}

}  // namespace pp::client
