#include "ppclient/src/lua_watch.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ppclient/src/completions.hpp"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/lua_job.hpp"

namespace pp::client {
namespace {

constexpr char kWatchMeta[] = "pp.core.watch";
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct LuaWatch {
  std::shared_ptr<Completions> completions;              // null when nothing was pending
  std::unordered_map<const JobState*, int> place;        // in the list (the environment)
  std::vector<int> finished;                             // places of jobs done before
  size_t next_finished = 0;
  std::optional<Clock::time_point> deadline;
  // Whether a job yielded so far failed (cancelled is not a failure), for FIRST_EXCEPTION.
  bool failure_seen = false;
};

LuaWatch& check_watch(lua_State* L) {
  return *static_cast<LuaWatch*>(luaL_checkudata(L, 1, kWatchMeta));
}

size_t remaining(const LuaWatch& w) {
  return (w.finished.size() - w.next_finished) + (w.completions ? w.completions->remaining() : 0);
}

// The wait allowed now: the smaller of `limit` and what is left to the deadline
// (nullopt: no limit at all).
std::optional<milliseconds> allowed(const LuaWatch& w, std::optional<milliseconds> limit) {
  if (!w.deadline) return limit;
  auto left = std::chrono::duration_cast<milliseconds>(*w.deadline - Clock::now());
  if (left < milliseconds(0)) left = milliseconds(0);
  return limit && *limit < left ? *limit : left;
}

bool failed(proto::JobStatus status) {
  return status != proto::JobStatus::kOk && status != proto::JobStatus::kCancelled;
}

// The place of the next finished job, 0 when none came within `limit`; `timed_out` says
// whether some are still unfinished.
int next_place(LuaWatch& w, std::optional<milliseconds> limit, bool& timed_out, lua_State* L) {
  timed_out = false;
  if (w.next_finished < w.finished.size()) {
    const int place = w.finished[w.next_finished++];
    lua_rawgeti(L, -1, place);
    w.failure_seen = w.failure_seen || failed(lua_job_at(L, -1).status);
    lua_pop(L, 1);
    return place;
  }
  if (!w.completions || w.completions->remaining() == 0) return 0;
  std::shared_ptr<JobState> job = w.completions->next(allowed(w, limit));
  if (!job) {
    timed_out = w.completions->remaining() > 0;
    return 0;
  }
  {
    std::lock_guard lock(job->sync->mutex);
    w.failure_seen = w.failure_seen || failed(job->status);
  }
  return w.place.at(job.get());
}

// w:next([limit_seconds]) -> the next finished job | nil, "timeout" | nil (all yielded).
int l_next(lua_State* L) {
  LuaWatch& w = check_watch(L);
  std::optional<milliseconds> limit;
  if (!lua_isnoneornil(L, 2)) {
    limit = milliseconds(static_cast<long long>(std::max(0.0, luaL_checknumber(L, 2)) * 1000));
  }
  lua_settop(L, 1);
  lua_getfenv(L, 1);
  bool timed_out = false;
  const int place = next_place(w, limit, timed_out, L);
  if (place != 0) {
    lua_rawgeti(L, 2, place);
    return 1;
  }
  lua_pushnil(L);
  if (!timed_out) return 1;
  lua_pushliteral(L, "timeout");
  return 2;
}

// w:wait(mode) -> true once "all" jobs finished, the "first" one did, or one failed
// ("exception", else all finished); false at the deadline.
int l_wait(lua_State* L) {
  LuaWatch& w = check_watch(L);
  const std::string mode = luaL_checkstring(L, 2);
  lua_settop(L, 2);
  lua_getfenv(L, 1);
  bool yielded = false;
  for (;;) {
    if (mode == "first" && yielded) break;
    if (mode == "exception" && w.failure_seen) break;
    bool timed_out = false;
    if (next_place(w, std::nullopt, timed_out, L) == 0) {
      lua_pushboolean(L, !timed_out);
      return 1;
    }
    yielded = true;
  }
  lua_pushboolean(L, 1);
  return 1;
}

// w:close(): the engine forgets the watch now rather than when Lua collects it (a job
// watched by several would hand itself to each).
int l_close(lua_State* L) {
  LuaWatch& w = check_watch(L);
  w.completions.reset();
  w.place.clear();
  w.finished.clear();
  w.next_finished = 0;
  return 0;
}

int l_remaining(lua_State* L) {
  lua_pushnumber(L, static_cast<lua_Number>(remaining(check_watch(L))));
  return 1;
}

int l_gc(lua_State* L) {
  std::destroy_at(static_cast<LuaWatch*>(lua_touserdata(L, 1)));
  return 0;
}

// The number of entries of the list at `list`: list.n when set, else #list.
int list_length(lua_State* L, int list) {
  lua_getfield(L, list, "n");
  const int n = lua_isnumber(L, -1) ? static_cast<int>(lua_tonumber(L, -1))
                                    : static_cast<int>(lua_objlen(L, list));
  lua_pop(L, 1);
  return n;
}

}  // namespace

void open_lua_watches(lua_State* L) {
  luaL_newmetatable(L, kWatchMeta);
  lua_newtable(L);
  const luaL_Reg methods[] = {
      {"next", l_next},   {"wait", l_wait},          {"remaining", l_remaining},
      {"close", l_close}, {nullptr, nullptr}};
  luaL_register(L, nullptr, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
}

void push_lua_watch(lua_State* L, JobServer& server, int list, std::optional<double> timeout_s) {
  luaL_checktype(L, list, LUA_TTABLE);
  const int n = list_length(L, list);
  auto* w = std::construct_at(static_cast<LuaWatch*>(lua_newuserdata(L, sizeof(LuaWatch))));
  luaL_getmetatable(L, kWatchMeta);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, list);
  lua_setfenv(L, -2);
  std::vector<std::shared_ptr<JobState>> pending;
  pending.reserve(static_cast<size_t>(n));
  w->place.reserve(static_cast<size_t>(n));
  std::unordered_set<const void*> settled;   // a finished job listed twice is yielded once
  int bad = 0;
  const char* why = nullptr;
  for (int i = 1; i <= n && bad == 0; ++i) {
    lua_rawgeti(L, list, i);
    LuaJobRef job = lua_job_at(L, -1);
    const void* object = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!job.is_job) {
      bad = i, why = "is not a job";
    } else if (!job.state) {
      if (settled.insert(object).second) w->finished.push_back(i);
    } else if (job.state->sync.get() != &server.sync()) {
      bad = i, why = "is a job of another pp.server";
    } else if (w->place.emplace(job.state.get(), i).second) {
      pending.push_back(std::move(job.state));
    }
  }
  if (bad != 0) {
    pending.clear();
    luaL_error(L, "jobs[%d] %s", bad, why);
  }
  if (timeout_s) {
    w->deadline = Clock::now() + milliseconds(static_cast<long long>(*timeout_s * 1000));
  }
  if (!pending.empty()) w->completions = server.watch(std::move(pending));
}

}  // namespace pp::client
