// int64_t / uint64_t cdata through a registry-cached Lua helper (int64.hpp).
#include "core/lua/int64.hpp"

#include <lua.hpp>

#include <string>

namespace pp::lua::detail {
namespace {

// The helper, given the ffi module: {read, make}. read(v) returns 0 for a cdata
// that is not a 64-bit integer, else 1 (int64_t) or 2 (uint64_t) and the high
// and low 32 bits; make(signed, hi, lo) builds the cdata back. Halves travel as
// numbers because the C API has no way to read or push a 64-bit integer.
constexpr char kHelperSource[] = R"(
local ffi = ...
local istype, cast, tonumber = ffi.istype, ffi.cast, tonumber
local i64, u64 = ffi.typeof("int64_t"), ffi.typeof("uint64_t")
local two32 = 4294967296
local function split(u) return tonumber(u / two32), tonumber(u % two32) end
return {
  function(v)
    if istype(i64, v) then return 1, split(cast(u64, v)) end
    if istype(u64, v) then return 2, split(v) end
    return 0
  end,
  function(signed, hi, lo)
    local u = cast(u64, hi) * two32 + lo
    if signed then return cast(i64, u) end
    return u
  end,
}
)";

// The registry key of the helper table: this variable's address.
const char kHelperKey = 0;

constexpr int kRead = 1;
constexpr int kMake = 2;

// Run under lua_pcall: finds the ffi module as `require "ffi"` would (loaded,
// else loaded now from its preload entry, and recorded as loaded), loads the
// helper with it, keeps it in the registry and returns it.
int load_helper(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  if (!lua_istable(L, -1)) return luaL_error(L, "this Lua state has no module table");
  const int loaded = lua_gettop(L);
  lua_getfield(L, loaded, "ffi");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "_PRELOAD");
    if (lua_istable(L, -1)) lua_getfield(L, -1, "ffi");
    if (!lua_isfunction(L, -1)) return luaL_error(L, "the ffi module is not available");
    lua_pushstring(L, "ffi");
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, loaded, "ffi");
  }
  if (luaL_loadbuffer(L, kHelperSource, sizeof kHelperSource - 1, "=pp.lua.int64") != 0) {
    return lua_error(L);
  }
  lua_insert(L, -2);
  lua_call(L, 1, 1);
  lua_pushlightuserdata(L, const_cast<char*>(&kHelperKey));
  lua_pushvalue(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
  return 1;
}

// The message of the error lua_pcall left on top, which it pops.
Status pcall_failure(lua_State* L, int rc) {
  if (rc == LUA_ERRMEM) {
    lua_pop(L, 1);
    return Status(StatusCode::kTooLarge, "out of memory");
  }
  const char* msg = lua_tostring(L, -1);
  std::string what = msg != nullptr ? msg : "unknown error";
  lua_pop(L, 1);
  return Status(StatusCode::kInvalid, "64-bit integers need LuaJIT's ffi module: " + what);
}

// Pushes helper function `which`, loading the helper on first use in this state.
Status push_helper(lua_State* L, int which) {
  if (!lua_checkstack(L, 4)) return Status(StatusCode::kTooLarge, "Lua stack exhausted");
  lua_pushlightuserdata(L, const_cast<char*>(&kHelperKey));
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_pushcfunction(L, load_helper);
    if (const int rc = lua_pcall(L, 0, 1, 0); rc != 0) return pcall_failure(L, rc);
  }
  lua_rawgeti(L, -1, which);
  lua_remove(L, -2);
  return Status::ok();
}

}  // namespace

Result<CdataInt> read_cdata_int(lua_State* L, int index) {
  Status s = push_helper(L, kRead);
  if (!s) return s;
  lua_pushvalue(L, index);
  if (const int rc = lua_pcall(L, 1, 3, 0); rc != 0) return pcall_failure(L, rc);
  CdataInt out;
  const auto kind = static_cast<int>(lua_tonumber(L, -3));
  if (kind == 1 || kind == 2) {
    out.kind = kind == 1 ? CdataInt::kSigned : CdataInt::kUnsigned;
    out.bits = (static_cast<uint64_t>(lua_tonumber(L, -2)) << 32) |
               static_cast<uint64_t>(lua_tonumber(L, -1));
  }
  lua_pop(L, 3);
  return out;
}

Status push_cdata_int(lua_State* L, uint64_t bits, bool is_signed) {
  Status s = push_helper(L, kMake);
  if (!s) return s;
  lua_pushboolean(L, is_signed ? 1 : 0);
  lua_pushnumber(L, static_cast<lua_Number>(bits >> 32));
  lua_pushnumber(L, static_cast<lua_Number>(bits & 0xffffffffu));
  if (const int rc = lua_pcall(L, 3, 1, 0); rc != 0) return pcall_failure(L, rc);
  return Status::ok();
}

}  // namespace pp::lua::detail
