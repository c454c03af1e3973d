#include "ppserver/worker_output.hpp"

namespace pp::server {
namespace {

RunningPage& page_of(lua_State* L) {
  return *static_cast<RunningPage*>(lua_touserdata(L, lua_upvalueindex(1)));
}

// print(...): as Lua's own (each argument through the job's `tostring`, tabs between,
// a newline after), into the job's output.
int capture_print(lua_State* L) {
  RunningPage& page = page_of(L);
  const int n = lua_gettop(L);
  lua_getglobal(L, "tostring");
  for (int i = 1; i <= n; ++i) {
    lua_pushvalue(L, n + 1);
    lua_pushvalue(L, i);
    lua_call(L, 1, 1);
    size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    if (s == nullptr) return luaL_error(L, "'tostring' must return a string to 'print'");
    if (i > 1) page.append_output("\t", 1);
    page.append_output(s, len);
    lua_pop(L, 1);
  }
  page.append_output("\n", 1);
  return 0;
}

// write(...): the strings and numbers io.write takes, into the job's output; anything
// else is the error io.write gives.
int capture_write(lua_State* L) {
  RunningPage& page = page_of(L);
  const int n = lua_gettop(L);
  for (int i = 1; i <= n; ++i) {
    const int type = lua_type(L, i);
    if (type != LUA_TSTRING && type != LUA_TNUMBER) {
      return luaL_argerror(L, i, lua_pushfstring(L, "string expected, got %s",
                                                 luaL_typename(L, i)));
    }
    size_t len = 0;
    const char* s = lua_tolstring(L, i, &len);
    page.append_output(s, len);
  }
  return 0;
}

}  // namespace

void install_output_capture(lua_State* L, RunningPage* page) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaded");
  lua_createtable(L, 0, 2);
  lua_pushlightuserdata(L, page);
  lua_pushcclosure(L, capture_print, 1);
  lua_setfield(L, -2, "print");
  lua_pushlightuserdata(L, page);
  lua_pushcclosure(L, capture_write, 1);
  lua_setfield(L, -2, "write");
  lua_setfield(L, -2, "pp.worker_output");
  lua_pop(L, 2);
}

}  // namespace pp::server
