#include "ppclient/src/lua_pipeline.hpp"

#include <string>
#include <vector>

#include "ppclient/src/job_server.hpp"

namespace pp::client {

namespace {

void set_number(lua_State* L, const char* key, double v) {
  lua_pushnumber(L, static_cast<lua_Number>(v));
  lua_setfield(L, -2, key);
}

void set_string(lua_State* L, const char* key, const std::string& v) {
  lua_pushlstring(L, v.data(), v.size());
  lua_setfield(L, -2, key);
}

}  // namespace

int lua_add_pipeline(lua_State* L, JobServer& server, int names) {
  luaL_checktype(L, names, LUA_TTABLE);
  std::vector<std::string> list;
  const int n = static_cast<int>(lua_objlen(L, names));
  for (int k = 1; k <= n; ++k) {
    lua_rawgeti(L, names, k);
    size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    list.emplace_back(s != nullptr ? std::string(s, len) : std::string("stage ") + std::to_string(k));
    lua_pop(L, 1);
  }
  lua_pushnumber(L, static_cast<lua_Number>(server.add_pipeline(std::move(list))));
  return 1;
}

int lua_pipeline_stats(lua_State* L, JobServer& server, lua_Integer id) {
  const report::Pipeline p =
      server.pipeline_figures(id > 0 && id <= UINT32_MAX ? static_cast<uint32_t>(id) : 0);
  lua_createtable(L, 0, 6);
  set_string(L, "name", p.name);
  set_number(L, "wall_seconds", p.wall_seconds);
  set_number(L, "items", static_cast<double>(p.items));
  set_number(L, "dropped", static_cast<double>(p.dropped));
  set_number(L, "failed", static_cast<double>(p.failed));
  lua_createtable(L, static_cast<int>(p.stages.size()), 0);
  for (size_t k = 0; k < p.stages.size(); ++k) {
    const report::Stage& s = p.stages[k];
    const report::StageDerived d = report::derive(p, k);
    lua_createtable(L, 0, 10);
    set_string(L, "name", s.name);
    set_number(L, "items_in", static_cast<double>(s.items_in));
    set_number(L, "items_out", static_cast<double>(s.items_out));
    set_number(L, "dropped", static_cast<double>(s.dropped));
    set_number(L, "failed", static_cast<double>(s.failed));
    set_number(L, "runs", static_cast<double>(s.runs));
    set_number(L, "job_seconds", s.job_seconds);
    set_number(L, "items_per_second", d.items_per_second);
    set_number(L, "seconds_per_item", d.seconds_per_item);
    set_number(L, "workers", d.workers);
    lua_rawseti(L, -2, static_cast<int>(k + 1));
  }
  lua_setfield(L, -2, "stages");
  return 1;
}

}  // namespace pp::client
