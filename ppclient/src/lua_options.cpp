#include "ppclient/src/lua_options.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ppclient/src/lua_module.hpp"

namespace pp::client {
namespace {

constexpr char kRunOptions[] = "pp.core.run";   // registry: ppclient run's RunOptions

// Whole strings: a secret may hold NUL bytes.
std::string opt_string(lua_State* L, int t, const char* key) {
  lua_getfield(L, t, key);
  size_t len = 0;
  const char* s = lua_isstring(L, -1) ? lua_tolstring(L, -1, &len) : nullptr;
  std::string out = s != nullptr ? std::string(s, len) : std::string();
  lua_pop(L, 1);
  return out;
}

double opt_number(lua_State* L, int t, const char* key, double def) {
  lua_getfield(L, t, key);
  double out = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : def;
  lua_pop(L, 1);
  return out;
}

bool opt_boolean(lua_State* L, int t, const char* key) {
  lua_getfield(L, t, key);
  bool out = lua_toboolean(L, -1) != 0;
  lua_pop(L, 1);
  return out;
}

std::vector<std::string> opt_list(lua_State* L, int t, const char* key) {
  std::vector<std::string> out;
  lua_getfield(L, t, key);
  for (int i = 1; lua_istable(L, -1); ++i) {
    lua_rawgeti(L, -1, i);
    if (!lua_isstring(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    out.emplace_back(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return out;
}

// What `ppclient run` set for every cluster (set_run_options), if it did: each option
// given there replaces what the script said.
void apply_run_options(lua_State* L, ClusterOptions& opt) {
  lua_getfield(L, LUA_REGISTRYINDEX, kRunOptions);
  if (lua_istable(L, -1)) {
    const int t = lua_gettop(L);
    opt.report = opt_string(L, t, "report");
    if (auto nodes = opt_list(L, t, "nodes"); !nodes.empty()) opt.servers = std::move(nodes);
    auto& servers = opt.servers;
    const bool has_star = std::find(servers.begin(), servers.end(), "*") != servers.end();
    if (opt_boolean(L, t, "discover") && !has_star) servers.push_back("*");
    if (opt_boolean(L, t, "no_echo")) opt.echo_output = false;
    lua_getfield(L, t, "progress");   // --progress / --no-progress win over the script
    if (!lua_isnil(L, -1)) opt.progress = lua_toboolean(L, -1) != 0;
    lua_pop(L, 1);
    if (opt.dashboard.empty()) {
      opt.dashboard = opt_string(L, t, "dashboard");
      opt.dashboard_linger = std::chrono::milliseconds(
          static_cast<long long>(opt_number(L, t, "dashboard_linger", 0) * 1000));
    }
    if (auto secret = opt_string(L, t, "secret"); !secret.empty()) opt.secret = std::move(secret);
    if (auto file = opt_string(L, t, "journal"); !file.empty()) opt.journal = std::move(file);
  }
  lua_pop(L, 1);
}

}  // namespace

bool read_cluster_options(lua_State* L, int t, ClusterOptions& opt) {
  lua_getfield(L, t, "servers");
  if (lua_istable(L, -1)) {
    for (int i = 1;; ++i) {
      lua_rawgeti(L, -1, i);
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        break;
      }
      if (!lua_isstring(L, -1)) {
        lua_pushfstring(L, "ppservers[%d] is not a string", i);
        return false;
      }
      opt.servers.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  opt.local_workers = static_cast<int>(opt_number(L, t, "local_workers", -1));
  opt.secret = opt_string(L, t, "secret");
  opt.job_timeout = std::chrono::milliseconds(
      static_cast<long long>(opt_number(L, t, "job_timeout", 0) * 1000));
  opt.no_node_timeout = std::chrono::milliseconds(
      static_cast<long long>(opt_number(L, t, "no_node_timeout", 60) * 1000));
  opt.journal = opt_string(L, t, "journal");
  opt.encrypt = opt_boolean(L, t, "encrypt");
  lua_getfield(L, t, "progress");   // unset: on when stderr is a terminal
  if (!lua_isnil(L, -1)) opt.progress = lua_toboolean(L, -1) != 0;
  lua_pop(L, 1);
  lua_getfield(L, t, "echo_output");   // on unless said otherwise
  if (!lua_isnil(L, -1)) opt.echo_output = lua_toboolean(L, -1) != 0;
  lua_pop(L, 1);
  opt.dashboard = opt_string(L, t, "dashboard");
  opt.dashboard_linger = std::chrono::milliseconds(
      static_cast<long long>(opt_number(L, t, "dashboard_linger", 0) * 1000));
  if (opt_string(L, t, "scheduling") == "free-slot") {
    opt.scheduling = ClusterOptions::Scheduling::kFreeSlot;
  }
  apply_run_options(L, opt);
  return true;
}

void read_submit_options(lua_State* L, int t, uint32_t& timeout_ms,
                         std::unique_ptr<SubmitExtras>& extras) {
  timeout_ms = static_cast<uint32_t>(opt_number(L, t, "timeout", 0) * 1000);
  const double retries = opt_number(L, t, "retries", 0);
  std::string node = opt_string(L, t, "node");
  std::string group = opt_string(L, t, "group");
  // `after` (a list of jobs) is read by the dependencies' code, with the job objects
  // inside the arguments.
  // `worker` (with `node`): js:run's placement on one worker, checked by pp.run.
  const double worker = opt_number(L, t, "worker", 0);
  // `keep`: the result stays on its node; `intermediate` (pp.pipeline's stages but the
  // last): kept, and released once the next stage's job took it.
  const bool intermediate = opt_boolean(L, t, "intermediate");
  const bool keep = intermediate || opt_boolean(L, t, "keep");
  // `pipeline` and `stage` (1-based): pp.pipeline's jobs, counted in its figures.
  const double pipeline = opt_number(L, t, "pipeline", 0);
  const double stage = opt_number(L, t, "stage", 0);
  const bool staged = pipeline >= 1 && pipeline <= UINT32_MAX && stage >= 1 && stage <= UINT32_MAX;
  if (retries <= 0 && node.empty() && group.empty() && !keep && !staged) return;
  extras = std::make_unique<SubmitExtras>();
  extras->retries = static_cast<uint32_t>(retries);
  extras->node = std::move(node);
  if (!extras->node.empty() && worker >= 1 && worker <= UINT32_MAX) {
    extras->worker = static_cast<uint32_t>(worker);
  }
  extras->group = std::move(group);
  extras->keep = keep;
  extras->intermediate = intermediate;
  if (staged) {
    extras->pipeline = static_cast<uint32_t>(pipeline);
    extras->stage = static_cast<uint32_t>(stage) - 1;
  }
}

void set_run_options(lua_State* L, const RunOptions& options) {
  lua_createtable(L, 0, 6);
  lua_pushlstring(L, options.report.data(), options.report.size());
  lua_setfield(L, -2, "report");
  lua_pushboolean(L, options.discover);
  lua_setfield(L, -2, "discover");
  lua_pushboolean(L, options.no_echo);
  lua_setfield(L, -2, "no_echo");
  if (options.progress) {
    lua_pushboolean(L, *options.progress);
    lua_setfield(L, -2, "progress");
  }
  lua_pushlstring(L, options.dashboard.data(), options.dashboard.size());
  lua_setfield(L, -2, "dashboard");
  lua_pushnumber(L, options.dashboard_linger);
  lua_setfield(L, -2, "dashboard_linger");
  lua_createtable(L, static_cast<int>(options.nodes.size()), 0);
  for (size_t i = 0; i < options.nodes.size(); ++i) {
    lua_pushlstring(L, options.nodes[i].data(), options.nodes[i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  lua_setfield(L, -2, "nodes");
  lua_pushlstring(L, options.secret.data(), options.secret.size());
  lua_setfield(L, -2, "secret");
  lua_pushlstring(L, options.journal.data(), options.journal.size());
  lua_setfield(L, -2, "journal");
  lua_setfield(L, LUA_REGISTRYINDEX, kRunOptions);
}

}  // namespace pp::client

