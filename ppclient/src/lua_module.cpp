// pp.core: the C side of the Lua driver API (lua/pp.lua builds on it).
//
// A cluster userdata owns its JobServer; c:submit makes a job object (lua_job.hpp),
// the one thing Lua holds per job: it owns its job's state (the engine's JobState,
// shared with the io thread until the result is in) and then its result, and a job
// object Lua collects takes all of it along, so a driver that drops jobs without
// calling them holds nothing for them (the job still runs). Both are C++ objects made
// in the userdata's own block and ended by its __gc. Arguments and results cross as
// msgpack (core/lua/convert.hpp).
// Lua errors are raised only for misuse (wrong types), never across threads; nothing
// throws through Lua.
#include "ppclient/src/lua_module.hpp"

#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/lua/convert.hpp"
#include "core/proto/constants.hpp"
#include "ppclient/src/code_blob.hpp"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/lua_job.hpp"
#include "ppclient/src/lua_options.hpp"
#include "ppclient/src/lua_watch.hpp"
#include "ppclient/src/lua_pipeline.hpp"
#include "ppclient/src/scatter_lua.hpp"

namespace {

using pp::client::JobServer;
using pp::client::JobState;

constexpr char kClusterMeta[] = "pp.core.cluster";

// A C++ object living in a full userdata: made in the block Lua allocates, its
// metatable set only once it exists (so __gc never sees a half-made one).
template <typename T, typename... Args>
T& new_userdata(lua_State* L, const char* meta, Args&&... args) {
  T* object = std::construct_at(static_cast<T*>(lua_newuserdata(L, sizeof(T))),
                                std::forward<Args>(args)...);
  luaL_getmetatable(L, meta);
  lua_setmetatable(L, -2);
  return *object;
}

// __gc of a userdata made by new_userdata<T>.
template <typename T>
int destroy_userdata(lua_State* L) {
  std::destroy_at(static_cast<T*>(lua_touserdata(L, 1)));
  return 0;
}

struct LuaCluster {
  std::unique_ptr<JobServer> server;   // reset by close
  // The code of the last submit, hashed once for the jobs that follow with the same
  // blob: Lua strings are interned, so the same bytes are the same string, which the
  // registry reference keeps alive (its address cannot name another string meanwhile).
  const char* code_string = nullptr;
  int code_string_ref = LUA_NOREF;
  pp::client::CodeRef code;
};

LuaCluster& check_cluster(lua_State* L) {
  auto* c = static_cast<LuaCluster*>(luaL_checkudata(L, 1, kClusterMeta));
  if (!c->server) luaL_error(L, "this cluster was closed");
  return *c;
}

// core.new(options) -> cluster | nil, err
int l_new(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  pp::ClusterOptions opt;
  if (!pp::client::read_cluster_options(L, 1, opt)) return luaL_error(L, "%s", lua_tostring(L, -1));
  std::unique_ptr<JobServer> server;
  std::string error;
  try {
    server = std::make_unique<JobServer>(std::move(opt), /*lua_bytecode=*/true);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!server) {
    lua_pushnil(L);
    lua_pushstring(L, error.c_str());
    return 2;
  }
  new_userdata<LuaCluster>(L, kClusterMeta).server = std::move(server);
  return 1;
}

// c:close(): the report (ppclient run --report), BYE to the nodes, the io thread
// joined; then the engine is gone. Also what __gc does first.
int l_close(lua_State* L) {
  auto* c = static_cast<LuaCluster*>(luaL_checkudata(L, 1, kClusterMeta));
  if (c->server) c->server->close();
  c->server.reset();
  luaL_unref(L, LUA_REGISTRYINDEX, c->code_string_ref);
  c->code_string_ref = LUA_NOREF;
  c->code_string = nullptr;
  return 0;
}

// The CodeRef of the blob string at 2 (made when it is not the last one's).
const pp::client::CodeRef& code_of(lua_State* L, LuaCluster& c) {
  size_t len = 0;
  const char* blob = lua_tolstring(L, 2, &len);
  if (blob != c.code_string) {
    c.code = JobServer::code_ref(std::string(blob, len));
    luaL_unref(L, LUA_REGISTRYINDEX, c.code_string_ref);
    lua_pushvalue(L, 2);
    c.code_string_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    c.code_string = blob;
  }
  return c.code;
}

int l_cluster_gc(lua_State* L) {
  l_close(L);
  return destroy_userdata<LuaCluster>(L);
}

// The largest positive integer key of the table at `t` (0 if none).
double largest_index(lua_State* L, int t) {
  double largest = 0;
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TNUMBER) continue;
    const double k = lua_tonumber(L, -1);
    if (k > largest && k == std::floor(k)) largest = k;
  }
  return largest;
}

// How many arguments the table at 3 holds: args.n when given (so holes travel as
// nil), else #args. Pushes an error message and returns -1 when n is wrong.
int argument_count(lua_State* L) {
  lua_getfield(L, 3, "n");
  const int type = lua_type(L, -1);
  const double n = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (type == LUA_TNIL) return static_cast<int>(lua_objlen(L, 3));
  constexpr char kWhat[] = "args.n must be the number of arguments, a whole number >= 0";
  if (type != LUA_TNUMBER) {
    lua_pushfstring(L, "%s; got a %s", kWhat, lua_typename(L, type));
    return -1;
  }
  if (!(n >= 0) || n != std::floor(n)) {
    lua_pushfstring(L, "%s; got %f", kWhat, n);
    return -1;
  }
  const double largest = largest_index(L, 3);
  if (largest > n) {
    lua_pushfstring(L, "args.n is %f but args[%f] is set; n must count every argument", n,
                    largest);
    return -1;
  }
  if (n > LUAI_MAXCSTACK) {
    lua_pushfstring(L, "args.n is %f: more arguments than a Lua function can take; pass a "
                    "list as one argument instead", n);
    return -1;
  }
  return static_cast<int>(n);
}

// Packs the arguments of the table at 3 (or none for nil) into `args`, noting the job
// objects among them in `refs` (its inputs); false with a message pushed on misuse.
bool pack_arguments(lua_State* L, std::string& args, pp::client::JobRefs& refs) {
  const int base = lua_gettop(L);
  int n = 0;
  if (lua_istable(L, 3)) {
    n = argument_count(L);
    if (n < 0) return false;
    if (!lua_checkstack(L, n + 1)) {
      lua_pushfstring(L, "%d arguments are more than a Lua function can take; pass a list "
                      "as one argument instead", n);
      return false;
    }
    for (int i = 1; i <= n; ++i) lua_rawgeti(L, 3, i);
  } else if (!lua_isnoneornil(L, 3)) {
    lua_pushliteral(L, "arguments must be a table (a list of values)");
    return false;
  }
  const pp::lua::UserdataHook hook = pp::client::job_ref_hook(refs);
  pp::Status st = pp::lua::pack_range(L, base + 1, base + n, args, "argument", &hook);
  lua_settop(L, base);
  if (!st) lua_pushstring(L, st.message().c_str());
  return static_cast<bool>(st);
}

// c:submit(blob, args_table_or_nil, anchor [, options]) -> job | nil, err
// The job object's environment is `anchor` (a table) until its result is in. `options`
// (lua/pp.lua checked them): {timeout = s, retries = n, node = "host:port", group = name,
// after = {jobs}}; nil for a plain job. `after` goes to stack index 6 (nil without it),
// where the dependencies' code reads it.
int l_submit(lua_State* L) {
  LuaCluster& c = check_cluster(L);
  luaL_checktype(L, 2, LUA_TSTRING);
  luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 5);
  uint32_t timeout_ms = 0;
  std::unique_ptr<pp::client::SubmitExtras> extras;
  if (lua_isnil(L, 5)) {
    lua_pushnil(L);
  } else {
    pp::client::read_submit_options(L, 5, timeout_ms, extras);
    lua_getfield(L, 5, "after");   // 6: the jobs it runs after (a list, or nil)
  }
  std::string args;
  pp::client::JobRefs refs{c.server->shared_sync(), {}, {}, {}};   // inputs (lua_job.hpp)
  if (!pack_arguments(L, args, refs) || !pp::client::add_after(L, 6, refs)) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  if (auto deps = refs.extras()) {
    if (!extras) {
      extras = std::move(deps);
    } else {
      extras->inputs = std::move(deps->inputs);
      extras->after = std::move(deps->after);
      extras->data = std::move(deps->data);
    }
  }
  std::shared_ptr<JobState> job;
  std::string error;
  try {
    job = c.server->submit(code_of(L, c), std::move(args), timeout_ms, std::move(extras));
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!job) return luaL_error(L, "%s", error.c_str());
  pp::client::push_lua_job(L, std::move(job), 4);
  return 1;
}

// c:scatter(value, broadcast) -> handle (scatter_lua.hpp); raises for a value that
// cannot be packed or that no connected node takes.
int l_scatter(lua_State* L) {
  LuaCluster& c = check_cluster(L);
  luaL_checkany(L, 2);
  return pp::client::lua_scatter(L, *c.server, 2, lua_toboolean(L, 3) != 0);
}

int l_add_pipeline(lua_State* L) {
  return pp::client::lua_add_pipeline(L, *check_cluster(L).server, 2);
}

int l_pipeline_stats(lua_State* L) {
  return pp::client::lua_pipeline_stats(L, *check_cluster(L).server, luaL_checkinteger(L, 2));
}

// c:cancel(job) -> true when the job had not finished (it is cancelled now).
int l_cancel(lua_State* L) {
  LuaCluster& c = check_cluster(L);
  pp::client::LuaJobRef job = pp::client::lua_job_at(L, 2);
  if (!job.is_job) return luaL_typerror(L, 2, "job");
  if (job.state && job.state->sync.get() != &c.server->sync()) {
    return luaL_error(L, "job %f is a job of another pp.server", double(job.state->id));
  }
  lua_pushboolean(L, job.state && c.server->cancel(job.state));
  return 1;
}

// c:watch(jobs [, timeout_seconds]) -> the jobs as they finish (lua_watch.hpp).
int l_watch(lua_State* L) {
  LuaCluster& c = check_cluster(L);
  std::optional<double> timeout;
  if (!lua_isnoneornil(L, 3)) timeout = luaL_checknumber(L, 3);
  pp::client::push_lua_watch(L, *c.server, 2, timeout);
  return 1;
}

// c:wait_for_workers(n, timeout_seconds) -> true | nil, what is connected and why not more.
int l_wait_for_workers(lua_State* L) {
  LuaCluster& c = check_cluster(L);
  const int n = static_cast<int>(luaL_checknumber(L, 2));
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(luaL_checknumber(L, 3) * 1000));
  pp::Status st = c.server->wait_for_workers(n, timeout);
  if (!st) {
    lua_pushnil(L);
    lua_pushstring(L, st.message().c_str());
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

// c:held() -> jobs whose state the cluster still keeps (job objects alive, result not taken).
int l_held(lua_State* L) {
  lua_pushnumber(L, static_cast<lua_Number>(check_cluster(L).server->sync().lua_handles.load()));
  return 1;
}

int l_wait_all(lua_State* L) {
  check_cluster(L).server->wait_all();
  return 0;
}

int l_ncpus(lua_State* L) {
  lua_pushinteger(L, check_cluster(L).server->ncpus());
  return 1;
}

int l_nodes(lua_State* L) {
  auto nodes = check_cluster(L).server->active_nodes();
  lua_createtable(L, 0, static_cast<int>(nodes.size()));
  for (const auto& [name, workers] : nodes) {
    lua_pushinteger(L, workers);
    lua_setfield(L, -2, name.c_str());
  }
  return 1;
}

// c:node_places() -> { {name = "host:port" | "local", node = "host:port" (as the node
// names itself), workers = n, placement = bool}, ... } in name order (js:run).
int l_node_places(lua_State* L) {
  auto places = check_cluster(L).server->node_places();
  lua_createtable(L, static_cast<int>(places.size()), 0);
  int i = 0;
  for (const auto& [name, p] : places) {
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, name.data(), name.size());
    lua_setfield(L, -2, "name");
    lua_pushlstring(L, p.node.data(), p.node.size());
    lua_setfield(L, -2, "node");
    lua_pushinteger(L, p.workers);
    lua_setfield(L, -2, "workers");
    lua_pushboolean(L, p.placement);
    lua_setfield(L, -2, "placement");
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

int l_stats(lua_State* L) {
  auto stats = check_cluster(L).server->stats();
  lua_createtable(L, static_cast<int>(stats.size()), 0);
  int i = 0;
  auto num = [L](const char* key, double v) {
    lua_pushnumber(L, static_cast<lua_Number>(v));
    lua_setfield(L, -2, key);
  };
  for (const auto& s : stats) {
    lua_createtable(L, 0, 19);
    lua_pushstring(L, s.node.c_str());
    lua_setfield(L, -2, "node");
    lua_pushstring(L, s.host.c_str());
    lua_setfield(L, -2, "host");
    lua_pushboolean(L, s.connected);
    lua_setfield(L, -2, "connected");
    num("workers", s.workers);
    num("speed_score", s.speed_score);
    num("jobs", static_cast<double>(s.jobs));
    num("job_time", s.job_time);
    num("failures", static_cast<double>(s.failures));
    num("crashes", static_cast<double>(s.crashes));
    num("cpu_time", s.cpu_time);
    num("busy_time", s.busy_time);
    num("stolen_from", static_cast<double>(s.stolen_from));
    num("stolen_to", static_cast<double>(s.stolen_to));
    num("backups_won", static_cast<double>(s.backups_won));
    num("backups_lost", static_cast<double>(s.backups_lost));
    num("requeued", static_cast<double>(s.requeued));
    num("bytes_sent", static_cast<double>(s.bytes_sent));
    num("bytes_received", static_cast<double>(s.bytes_received));
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

// cluster:report([path]): without a path, the report as JSON; with one, writes it
// (format by extension) and returns true, or nil and the reason.
int l_report(lua_State* L) {
  JobServer* server = check_cluster(L).server.get();
  if (lua_isnoneornil(L, 2)) {
    std::string json = pp::client::report::to_json(server->report());
    lua_pushlstring(L, json.data(), json.size());
    return 1;
  }
  pp::Status st = server->write_report(luaL_checkstring(L, 2));
  if (!st) {
    lua_pushnil(L);
    lua_pushstring(L, st.message().c_str());
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

int l_stats_table(lua_State* L) {
  lua_pushstring(L, check_cluster(L).server->stats_table().c_str());
  return 1;
}

// The string → string map at `t` (nil: empty); false and a message on misuse.
bool string_map(lua_State* L, int t, const char* what, std::map<std::string, std::string>& out) {
  if (lua_isnoneornil(L, t)) return true;
  luaL_checktype(L, t, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
      lua_pushfstring(L, "%s: names and values must be strings, got %s = %s", what,
                      luaL_typename(L, -2), luaL_typename(L, -1));
      return false;
    }
    size_t klen = 0, vlen = 0;
    const char* k = lua_tolstring(L, -2, &klen);
    const char* v = lua_tolstring(L, -1, &vlen);
    out.insert_or_assign(std::string(k, klen), std::string(v, vlen));
    lua_pop(L, 1);
  }
  return true;
}

// core.code_blob(kind, name, main, deps, mods) -> the blob (code_blob.hpp); deps maps
// names to functions of the same kind, mods aliases to module names.
int l_code_blob(lua_State* L) {
  pp::client::CodeBlob code;
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  code.kind.assign(s, len);
  s = luaL_checklstring(L, 2, &len);
  code.name.assign(s, len);
  s = luaL_checklstring(L, 3, &len);
  code.main.assign(s, len);
  if (!string_map(L, 4, "deps", code.deps) || !string_map(L, 5, "mods", code.mods)) {
    return luaL_error(L, "%s", lua_tostring(L, -1));
  }
  std::string blob = pp::client::encode_code_blob(code);
  lua_pushlstring(L, blob.data(), blob.size());
  return 1;
}

// core.now() -> seconds on a monotonic clock: wall time for the Lua side's figures (a
// pipeline's items/s), without an ffi.cdef of clock_gettime that would clash with a
// script's own declaration of it.
int l_now(lua_State* L) {
  auto t = std::chrono::steady_clock::now().time_since_epoch();
  lua_pushnumber(L, std::chrono::duration<double>(t).count());
  return 1;
}

int l_pack(lua_State* L) {
  std::string out;
  pp::Status st = pp::lua::pack(L, 1, out);
  if (!st) {
    lua_pushnil(L);
    lua_pushstring(L, st.message().c_str());
    return 2;
  }
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

int l_unpack(lua_State* L) {
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  pp::Status st = pp::lua::push(L, std::string_view(s, len));
  if (!st) {
    lua_pushnil(L);
    lua_pushstring(L, st.message().c_str());
    return 2;
  }
  return 1;
}

const luaL_Reg kClusterMethods[] = {
    {"submit", l_submit}, {"wait_all", l_wait_all}, {"cancel", l_cancel}, {"watch", l_watch},
    {"wait_for_workers", l_wait_for_workers},
    {"ncpus", l_ncpus},   {"nodes", l_nodes}, {"node_places", l_node_places},
    {"stats", l_stats},   {"stats_table", l_stats_table},
    {"report", l_report}, {"close", l_close}, {"held", l_held},     {"scatter", l_scatter},
    {"add_pipeline", l_add_pipeline}, {"pipeline_stats", l_pipeline_stats},
    {nullptr, nullptr}};

const luaL_Reg kFunctions[] = {
    {"new", l_new},           {"pack", l_pack}, {"unpack", l_unpack},
    {"code_blob", l_code_blob}, {"now", l_now}, {nullptr, nullptr}};

}  // namespace

extern "C" __attribute__((visibility("default"))) int luaopen_pp_core(lua_State* L) {
  luaL_newmetatable(L, kClusterMeta);
  lua_newtable(L);
  luaL_register(L, nullptr, kClusterMethods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_cluster_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  pp::client::open_lua_jobs(L);
  pp::client::open_lua_watches(L);
  pp::client::open_lua_shared(L);
  lua_newtable(L);
  luaL_register(L, nullptr, kFunctions);
  pp::client::register_lua_job_functions(L);
  lua_pushstring(L, pp::proto::kSoftwareVersion);
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, static_cast<lua_Integer>(pp::proto::kDefaultPort));
  lua_setfield(L, -2, "default_port");
  return 1;
}
