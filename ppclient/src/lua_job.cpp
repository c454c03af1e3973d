#include "ppclient/src/lua_job.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "core/lua/convert.hpp"
#include "core/proto/job_ref.hpp"
#include "ppclient/src/scatter_lua.hpp"
#include "core/proto/messages.hpp"

namespace pp::client {
namespace {

constexpr char kJobMeta[] = "pp.core.job";

// What a job object holds. Settled, a result that is one nil, boolean or number sits
// here (kNil ... kNumber); kValues and kFailed keep theirs in the environment table.
enum class Kind : uint8_t { kPending, kNone, kNil, kFalse, kTrue, kNumber, kValues, kFailed };

// 32 bytes of payload: the state and the settled figures share their place, since a
// job holds one or the other (a million jobs, a million of these). What job:status(),
// job.attempts and job.elapsed read stays after the state is gone.
struct LuaJob {
  struct Settled {
    double number;
    uint32_t node;   // index in the `_nodes` table, for the kinds held here
  };
  union {
    std::shared_ptr<JobState> state;   // kPending
    Settled settled;                   // any other kind
  };
  uint64_t id;
  Kind kind = Kind::kPending;
  proto::JobStatus status = proto::JobStatus::kOk;   // once settled
  uint16_t attempts = 0;                              // once settled
  float elapsed = 0;                                  // once settled: seconds on its node

  explicit LuaJob(std::shared_ptr<JobState> s) : state(std::move(s)), id(state->id) {
    ++state->sync->lua_handles;
  }
  ~LuaJob() { drop_state(); }
  LuaJob(const LuaJob&) = delete;
  LuaJob& operator=(const LuaJob&) = delete;
  void drop_state() {
    if (kind != Kind::kPending) return;
    --state->sync->lua_handles;
    std::destroy_at(&state);
    std::construct_at(&settled, Settled{0, 0});
    kind = Kind::kNone;
  }
};
static_assert(sizeof(LuaJob) == 32, "a job object stays 32 bytes (a million of them)");

// The job object at `index`, checked against the metatable in upvalue 1 (cheaper than
// luaL_checkudata's registry lookup, on every call of job()).
LuaJob& check_job(lua_State* L, int index) {
  auto* j = static_cast<LuaJob*>(lua_touserdata(L, index));
  bool ok = j != nullptr && lua_getmetatable(L, index) != 0;
  if (ok) {
    ok = lua_rawequal(L, -1, lua_upvalueindex(1)) != 0;
    lua_pop(L, 1);
  }
  if (!ok) luaL_typerror(L, index, "job");
  return *j;
}

int l_job_gc(lua_State* L) {
  std::destroy_at(static_cast<LuaJob*>(lua_touserdata(L, 1)));
  return 0;
}

// The index of `node` in the anchor's `_nodes` table (made when missing), which it
// leaves on the stack: a node's name is held once, not once per job.
uint32_t node_index(lua_State* L, int anchor, const std::string& node) {
  lua_getfield(L, anchor, "_nodes");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, anchor, "_nodes");
  }
  const int nodes = lua_gettop(L);
  lua_pushlstring(L, node.data(), node.size());
  lua_rawget(L, nodes);
  if (lua_isnumber(L, -1)) {
    auto i = static_cast<uint32_t>(lua_tonumber(L, -1));
    lua_pop(L, 1);
    return i;
  }
  lua_pop(L, 1);
  auto i = static_cast<uint32_t>(lua_objlen(L, nodes) + 1);
  lua_pushlstring(L, node.data(), node.size());
  lua_pushvalue(L, -1);
  lua_rawseti(L, nodes, static_cast<int>(i));
  lua_pushnumber(L, i);
  lua_rawset(L, nodes);
  return i;
}

// Pushes the error table of a failed job: {kind, message, traceback, node, job, value}.
void push_failure(lua_State* L, const JobState& s, const char* kind, const std::string& message) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushlstring(L, message.data(), message.size());
  lua_setfield(L, -2, "message");
  lua_pushlstring(L, s.traceback().data(), s.traceback().size());
  lua_setfield(L, -2, "traceback");
  lua_pushlstring(L, s.node.data(), s.node.size());
  lua_setfield(L, -2, "node");
  lua_pushnumber(L, static_cast<lua_Number>(s.id));
  lua_setfield(L, -2, "job");
  // The one value a job raised (RESULT.value of a Lua error: a msgpack array of it).
  if (s.status != proto::JobStatus::kOk && !s.value.empty()) {
    const int table = lua_gettop(L);
    auto n = lua::push_array_elements(L, s.value);
    if (n && *n == 1) lua_setfield(L, table, "value");
    lua_settop(L, table);
  }
}

// What the job printed, when it printed anything, as field `stdout` of the table on top.
void keep_output(lua_State* L, const JobState& s) {
  if (!s.output) return;
  lua_pushlstring(L, s.output->data(), s.output->size());
  lua_setfield(L, -2, "stdout");
}

// Keeps the outcome of a finished job `s` in `j`, its new environment on top of the
// stack. `anchor` is the job's environment until now. A job that printed something
// keeps its values in a table, beside its output (never in place).
void keep_outcome(lua_State* L, LuaJob& j, const JobState& s, int anchor) {
  j.status = s.status;
  j.attempts = s.attempts;
  j.elapsed = static_cast<float>(s.elapsed);
  if (s.status != proto::JobStatus::kOk) {
    push_failure(L, s, proto::job_status_name(s.status), s.error());
    keep_output(L, s);
    j.drop_state();
    j.kind = Kind::kFailed;
    return;
  }
  const int base = lua_gettop(L);
  auto n = lua::push_array_elements(L, s.value);
  if (!n) {
    lua_settop(L, base);
    push_failure(L, s, "bad result", "the result of job " + std::to_string(s.id) +
                                         " could not be decoded: " + n.status().message());
    keep_output(L, s);
    j.drop_state();
    j.kind = Kind::kFailed;
    return;
  }
  const int type = *n == 1 ? lua_type(L, -1) : LUA_TNONE;
  if (!s.output && *n <= 1 && (*n == 0 || type == LUA_TNIL || type == LUA_TBOOLEAN || type == LUA_TNUMBER)) {
    const double number = *n == 1 && type == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
    Kind kind = *n == 0 ? Kind::kNone
                : type == LUA_TNIL ? Kind::kNil
                : type == LUA_TNUMBER ? Kind::kNumber
                : lua_toboolean(L, -1) ? Kind::kTrue : Kind::kFalse;
    lua_settop(L, base);
    const uint32_t node = node_index(L, anchor, s.node);   // leaves `_nodes` on top
    j.drop_state();
    j.settled = {number, node};
    j.kind = kind;
    return;
  }
  // {values..., n = count, node = name}
  lua_createtable(L, *n, 2);
  lua_insert(L, base + 1);
  for (int i = *n; i >= 1; --i) lua_rawseti(L, base + 1, i);
  lua_pushnumber(L, *n);
  lua_setfield(L, base + 1, "n");
  lua_pushlstring(L, s.node.data(), s.node.size());
  lua_setfield(L, base + 1, "node");
  keep_output(L, s);
  j.drop_state();
  j.kind = Kind::kValues;
}

// core.job_settle(job) -> nil when already settled; else waits for the result, keeps
// it and returns the job's anchor and, for a failure, its error table (to be given its
// metatable). The anchor says where a callback may be waiting.
int l_job_settle(lua_State* L) {
  LuaJob& j = check_job(L, 1);
  if (j.kind != Kind::kPending) return 0;
  std::shared_ptr<JobState> s = j.state;   // the job's own reference goes in keep_outcome
  {
    std::unique_lock lock(s->sync->mutex);
    s->waited = true;
    if (!s->done) {
      BlockedWait blocked(*s->sync);
      s->sync->cv.wait(lock, [&] { return s->done; });
    }
    resolve_kept(s, lock);   // a value kept on its node comes here once
  }
  lua_settop(L, 1);
  lua_getfenv(L, 1);                       // 2: the anchor
  keep_outcome(L, j, *s, 2);               // 3: the new environment
  lua_pushvalue(L, 3);
  lua_setfenv(L, 1);
  if (j.kind != Kind::kFailed) {
    lua_settop(L, 2);
    return 1;
  }
  return 2;
}

// core.job_values(job) -> true, values... | false, error table (after job_settle).
int l_job_values(lua_State* L) {
  LuaJob& j = check_job(L, 1);
  switch (j.kind) {
    case Kind::kPending: return luaL_error(L, "job %f has no result yet", double(j.id));
    case Kind::kNone: lua_pushboolean(L, 1); return 1;
    case Kind::kNil: lua_pushboolean(L, 1); lua_pushnil(L); return 2;
    case Kind::kFalse: lua_pushboolean(L, 1); lua_pushboolean(L, 0); return 2;
    case Kind::kTrue: lua_pushboolean(L, 1); lua_pushboolean(L, 1); return 2;
    case Kind::kNumber: lua_pushboolean(L, 1); lua_pushnumber(L, j.settled.number); return 2;
    case Kind::kFailed: lua_pushboolean(L, 0); lua_getfenv(L, 1); return 2;
    case Kind::kValues: break;
  }
  lua_getfenv(L, 1);
  const int t = lua_gettop(L);
  lua_getfield(L, t, "n");
  const int n = static_cast<int>(lua_tonumber(L, -1));
  lua_pop(L, 1);
  if (!lua_checkstack(L, n + 1)) return luaL_error(L, "too many results to return");
  lua_pushboolean(L, 1);
  for (int i = 1; i <= n; ++i) lua_rawgeti(L, t, i);
  return n + 1;
}

// core.job_node(job) -> the node that ran it; nil until it is settled, and for a job no
// node ran.
int l_job_node(lua_State* L) {
  LuaJob& j = check_job(L, 1);
  if (j.kind == Kind::kPending) return 0;
  lua_getfenv(L, 1);
  if (j.kind == Kind::kValues || j.kind == Kind::kFailed) {
    lua_getfield(L, -1, "node");
  } else {
    lua_rawgeti(L, -1, static_cast<int>(j.settled.node));
  }
  // A job that never ran on a node (cancelled in the driver, lost) has none.
  return lua_isstring(L, -1) && lua_objlen(L, -1) > 0 ? 1 : 0;
}

// core.job_stdout(job) -> what the job printed: "" when nothing, nil until it finished.
int l_job_stdout(lua_State* L) {
  LuaJob& j = check_job(L, 1);
  if (j.kind == Kind::kPending) {
    std::string out;
    {
      std::lock_guard lock(j.state->sync->mutex);
      if (!j.state->done) return 0;
      if (j.state->output) out = *j.state->output;
    }
    lua_pushlstring(L, out.data(), out.size());
    return 1;
  }
  if (j.kind == Kind::kValues || j.kind == Kind::kFailed) {
    lua_getfenv(L, 1);
    lua_getfield(L, -1, "stdout");
    if (lua_isstring(L, -1)) return 1;
  }
  lua_pushliteral(L, "");
  return 1;
}

// core.job_done(job) -> whether the job has its result.
int l_job_done(lua_State* L) {
  LuaJob& j = check_job(L, 1);
  bool done = j.kind != Kind::kPending;
  if (!done) {
    std::lock_guard lock(j.state->sync->mutex);
    done = j.state->done;
  }
  lua_pushboolean(L, done);
  return 1;
}

// core.job_status(job) -> "pending" | "running" | "finished" | "failed" | "cancelled".
int l_job_status(lua_State* L) {
  LuaJob& j = check_job(L, 1);
  if (j.kind != Kind::kPending) {
    lua_pushstring(L, j.status == proto::JobStatus::kOk ? "finished"
                      : j.status == proto::JobStatus::kCancelled ? "cancelled" : "failed");
    return 1;
  }
  std::lock_guard lock(j.state->sync->mutex);
  lua_pushstring(L, status_name(*j.state));
  return 1;
}

// core.job_attempts(job) -> runs started on nodes so far (retries included).
int l_job_attempts(lua_State* L) {
  LuaJob& j = check_job(L, 1);
  if (j.kind != Kind::kPending) {
    lua_pushnumber(L, j.attempts);
    return 1;
  }
  std::lock_guard lock(j.state->sync->mutex);
  lua_pushnumber(L, j.state->attempts);
  return 1;
}

// core.job_elapsed(job) -> seconds the job's run took on its node; nil until it finished.
int l_job_elapsed(lua_State* L) {
  LuaJob& j = check_job(L, 1);
  if (j.kind != Kind::kPending) {
    lua_pushnumber(L, j.elapsed);
    return 1;
  }
  std::lock_guard lock(j.state->sync->mutex);
  if (!j.state->done) return 0;
  lua_pushnumber(L, j.state->elapsed);
  return 1;
}

// core.job_anchor(job) -> its anchor (the server) while it holds its state, else nil.
int l_job_anchor(lua_State* L) {
  LuaJob& j = check_job(L, 1);
  if (j.kind != Kind::kPending) return 0;
  lua_getfenv(L, 1);
  return 1;
}

int l_job_id(lua_State* L) {
  lua_pushnumber(L, static_cast<lua_Number>(check_job(L, 1).id));
  return 1;
}

// The job object at `index`, or nullptr when the value is some other userdata.
LuaJob* as_job(lua_State* L, int index) {
  auto* j = static_cast<LuaJob*>(lua_touserdata(L, index));
  if (j == nullptr || lua_getmetatable(L, index) == 0) return nullptr;
  luaL_getmetatable(L, kJobMeta);
  const bool job = lua_rawequal(L, -1, -2) != 0;
  lua_pop(L, 2);
  return job ? j : nullptr;
}

int l_job_metatable(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  return 1;
}

}  // namespace

void open_lua_jobs(lua_State* L) {
  luaL_newmetatable(L, kJobMeta);
  lua_pushcfunction(L, l_job_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
}

void push_lua_job(lua_State* L, std::shared_ptr<JobState> state, int anchor) {
  anchor = anchor < 0 ? lua_gettop(L) + anchor + 1 : anchor;
  void* block = lua_newuserdata(L, sizeof(LuaJob));
  std::construct_at(static_cast<LuaJob*>(block), std::move(state));
  luaL_getmetatable(L, kJobMeta);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, anchor);
  lua_setfenv(L, -2);
}

LuaJobRef lua_job_at(lua_State* L, int index) {
  const LuaJob* j = as_job(L, index);
  if (j == nullptr) return {};
  if (j->kind == Kind::kPending) return {true, j->state, proto::JobStatus::kOk};
  return {true, nullptr, j->status};
}

void register_lua_job_functions(lua_State* L) {
  const luaL_Reg functions[] = {
      {"job_id", l_job_id},         {"job_node", l_job_node},         {"job_done", l_job_done},
      {"job_settle", l_job_settle}, {"job_values", l_job_values},     {"job_status", l_job_status},
      {"job_attempts", l_job_attempts}, {"job_elapsed", l_job_elapsed},
      {"job_anchor", l_job_anchor}, {"job_stdout", l_job_stdout}, {"job_metatable", l_job_metatable}};
  for (const auto& f : functions) {
    luaL_getmetatable(L, kJobMeta);
    lua_pushcclosure(L, f.func, 1);
    lua_setfield(L, -2, f.name);
  }
}

}  // namespace pp::client

// ---- Dependencies: job objects as arguments (inputs) and in `after` lists ----
namespace pp::client {
namespace {

proto::JobStatus status_named(const char* name) {
  for (int s = 1; s <= static_cast<int>(proto::JobStatus::kDependency); ++s) {
    auto st = static_cast<proto::JobStatus>(s);
    if (name != nullptr && std::string(proto::job_status_name(st)) == name) return st;
  }
  return proto::JobStatus::kLuaError;
}

// A failed job whose outcome the script took: a done state rebuilt from its error
// table (its own state is gone), which fails whatever depends on it at once.
std::shared_ptr<JobState> failed_state(lua_State* L, int index, const LuaJob& j,
                                       const JobRefs& refs) {
  auto s = std::make_shared<JobState>();
  s->id = j.id;
  s->sync = refs.sync;
  s->done = true;
  lua_getfenv(L, index);
  auto field = [&](const char* name) {
    lua_getfield(L, -1, name);
    std::string v = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
    lua_pop(L, 1);
    return v;
  };
  s->status = status_named(field("kind").c_str());
  s->set_failure(field("message"), field("traceback"));
  s->node = field("node");
  lua_pop(L, 1);
  return s;
}

// The one pending job `j` of this cluster, or an error naming the job.
Status check_cluster(const LuaJob& j, const JobRefs& refs) {
  if (j.state->sync == refs.sync) return Status::ok();
  return Status(StatusCode::kInvalid, "job " + std::to_string(j.id) +
                                          " belongs to another cluster: a job can only be an "
                                          "input of (or run after) jobs of its own cluster");
}

Status pack_job(void* context, lua_State* L, int index, std::string& out) {
  auto& refs = *static_cast<JobRefs*>(context);
  LuaJob* j = as_job(L, index);
  if (j == nullptr) return pack_shared(L, index, out, refs.data);   // a handle, or not ours
  switch (j->kind) {
    case Kind::kPending:
      if (Status s = check_cluster(*j, refs); !s) return s;
      proto::put_job_ref(out, j->id);
      refs.inputs.push_back(j->state);
      return Status::ok();
    case Kind::kNone:
    case Kind::kNil: out.push_back(static_cast<char>(0xc0)); return Status::ok();
    case Kind::kFalse: out.push_back(static_cast<char>(0xc2)); return Status::ok();
    case Kind::kTrue: out.push_back(static_cast<char>(0xc3)); return Status::ok();
    case Kind::kNumber:
    case Kind::kValues: {
      if (j->kind == Kind::kNumber) {
        lua_pushnumber(L, j->settled.number);
      } else {
        lua_getfenv(L, index);
        lua_rawgeti(L, -1, 1);
        lua_remove(L, -2);
      }
      const std::string name = "the value of job " + std::to_string(j->id);
      Status s = lua::pack(L, -1, out, name.c_str());
      lua_pop(L, 1);
      return s;
    }
    case Kind::kFailed:
      proto::put_job_ref(out, j->id);
      refs.inputs.push_back(failed_state(L, index, *j, refs));
      return Status::ok();
  }
  return Status(StatusCode::kInvalid, "a job object in an unknown state");
}

}  // namespace

std::unique_ptr<SubmitExtras> JobRefs::extras() {
  if (inputs.empty() && after.empty() && data.empty()) return nullptr;
  auto x = std::make_unique<SubmitExtras>();
  x->inputs = std::move(inputs);
  x->after = std::move(after);
  x->data = std::move(data);
  return x;
}

lua::UserdataHook job_ref_hook(JobRefs& refs) { return lua::UserdataHook{pack_job, &refs}; }

bool add_after(lua_State* L, int index, JobRefs& refs) {
  if (lua_isnoneornil(L, index)) return true;
  if (!lua_istable(L, index)) {
    lua_pushfstring(L, "after must be a list of jobs, got a %s", luaL_typename(L, index));
    return false;
  }
  const int n = static_cast<int>(lua_objlen(L, index));
  for (int i = 1; i <= n; ++i) {
    lua_rawgeti(L, index, i);
    LuaJob* j = as_job(L, -1);
    if (j == nullptr) {
      lua_pushfstring(L, "after[%d] is a %s, not a job", i, luaL_typename(L, -1));
      return false;
    }
    if (j->kind == Kind::kPending) {
      if (Status s = check_cluster(*j, refs); !s) {
        lua_pushfstring(L, "after[%d]: %s", i, s.message().c_str());
        return false;
      }
      refs.after.push_back(j->state);
    } else if (j->kind == Kind::kFailed) {
      refs.after.push_back(failed_state(L, lua_gettop(L), *j, refs));
    }   // finished well: nothing left to wait for
    lua_pop(L, 1);
  }
  return true;
}

}  // namespace pp::client
