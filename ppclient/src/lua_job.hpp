// The Lua job object of pp.core: one full userdata per job, the object the script
// holds (lua/pp.lua gives its metatable __index and __call: job(), job.id, ...).
//
// Memory first: a batch of a million jobs is a million of these, so the job is this
// one userdata and nothing else (no table beside a handle). Until its result is
// taken it holds the engine's JobState (shared with the io thread) and its
// environment is the anchor the caller gave at submit (the Lua server, so a job kept
// keeps its cluster alive). Once settled, the state is gone: a single nil, boolean or
// number result sits in the object itself, with the node as an index into the
// anchor's `_nodes` table (name <-> index), which becomes its environment; any other
// outcome (strings, tables, several values, an error) goes in one table that becomes
// its environment. Nothing throws through Lua; waiting is on the job's own Sync.
#pragma once

#include <lua.hpp>

#include <memory>
#include <vector>

#include "core/lua/convert.hpp"
#include "ppclient/src/job_state.hpp"
#include "ppclient/src/submit_extras.hpp"

namespace pp::client {

// Creates the job metatable (with its __gc) once per Lua state.
void open_lua_jobs(lua_State* L);
// Pushes a new job object for `state`, its environment the table at `anchor`.
void push_lua_job(lua_State* L, std::shared_ptr<JobState> state, int anchor);
// Sets the job functions (job_id, job_node, job_done, job_settle, job_values, job_status,
// job_attempts, job_elapsed, job_anchor, job_metatable) in the table on top of the stack.
void register_lua_job_functions(lua_State* L);

// What the value at `index` is as a job: is_job false for any other value; state null
// for a job whose result is already in the object (it finished; its state is gone, its
// outcome's status is `status`).
struct LuaJobRef {
  bool is_job = false;
  std::shared_ptr<JobState> state;
  proto::JobStatus status = proto::JobStatus::kOk;
};
LuaJobRef lua_job_at(lua_State* L, int index);
// Dependencies: the jobs a submit names, in its arguments (inputs) and its `after` list.
struct JobRefs {
  std::shared_ptr<Sync> sync;   // the submitting cluster's: a job of another is refused
  std::vector<std::shared_ptr<JobState>> inputs, after;
  // Scattered values among the arguments (scatter_lua.hpp).
  std::vector<std::shared_ptr<const SharedData>> data;
  // The SubmitExtras holding them; null when there are none.
  std::unique_ptr<SubmitExtras> extras();
};
// For lua::pack_range: a job object packs as a reference to its job, noted in
// refs.inputs; one whose result the script already took packs as its first value (or,
// failed, as a reference to a job that failed).
lua::UserdataHook job_ref_hook(JobRefs& refs);
// Adds the jobs of the list at `index` (nil: none) to refs.after; false and a message
// on the stack when an entry is not a job or belongs to another cluster.
bool add_after(lua_State* L, int index, JobRefs& refs);

}  // namespace pp::client
