-- pp.job: the job object a driver holds (job(), job:result(), job:status(), job:cancel(),
-- job.id, job.node, job.elapsed, job.attempts), pp.RemoteError, and the callbacks.
--
-- A job object is one userdata of pp.core (ppclient/src/lua_job.hpp): until its result
-- is in it holds the engine's state, then the result itself (a number in place, other
-- values in one table), so a batch of a million jobs costs a million of these and no
-- table each. Its environment is its server until then: a job kept keeps the cluster.
--
-- Callbacks run on the driver's thread, at its calls into the library, never
-- concurrently with its code: a job's own callback when its result is taken (job(),
-- job:result(), as_completed), and every finished job's at each submit, wait,
-- as_completed step, cancel and wait_for_workers. They are found without scanning all:
-- the last few jobs with a callback are checked one by one, the others are watched
-- (pp.core's completions) in batches of doubling size, merged as they come (O(log n)
-- batches, O(log n) work per job).
local core = require "pp.core"

local type, pairs, ipairs, error, select, unpack, pcall, setmetatable, getmetatable =
  type, pairs, ipairs, error, select, unpack, pcall, setmetatable, getmetatable
local string_format = string.format
local table_sort, table_remove = table.sort, table.remove

local job_id, job_node, job_done = core.job_id, core.job_node, core.job_done
local job_settle, job_values, job_anchor = core.job_settle, core.job_values, core.job_anchor
local job_status, job_elapsed, job_attempts = core.job_status, core.job_elapsed, core.job_attempts

local M = {}

-- A job failure: names the job, the node, the kind and the Lua traceback. A job
-- that raised a value other than a string (error({code = 42})) has it in `value`
-- (a plain copy: no metatable); `message` is then the value's __tostring, if any.
local RemoteError = {}
RemoteError.__index = RemoteError
RemoteError.__tostring = function(e)
  if e.errors then return "js:run: " .. (e.message or "") end   -- one per worker in `errors`
  local where = (e.node and e.node ~= "") and (" on node " .. e.node) or ""
  local s = string_format("job %d failed%s (%s): %s", e.job or 0, where, e.kind or "error",
    e.message or "")
  if e.traceback and e.traceback ~= "" then s = s .. "\nremote " .. e.traceback end
  return s
end
M.RemoteError = RemoteError

local Job = core.job_metatable()
M.Job = Job
local job_methods = {}
-- job.stdout: once it finished, what it printed ("" when nothing; nil before).
local fields = { id = job_id, node = job_node, elapsed = job_elapsed, attempts = job_attempts,
                 stdout = core.job_stdout }
Job.__index = function(job, key)
  local field = fields[key]
  if field then return field(job) end
  return job_methods[key]
end

function M.is_job(v) return getmetatable(v) == Job end

-- cb(callbackargs..., values...) for a job that succeeded, cb(callbackargs..., nil, err)
-- for one that failed (Parallel Python's callback(*(callbackargs + (result,)))).
local function call_back(cb, cbargs, ok, ...)
  if cbargs == nil then
    if ok then return cb(...) end
    return cb(nil, (...))
  end
  local n = cbargs.n or #cbargs
  local all = {}
  for i = 1, n do all[i] = cbargs[i] end
  if not ok then
    all[n + 2] = (...)
    return cb(unpack(all, 1, n + 2))
  end
  local m = select("#", ...)
  for i = 1, m do all[n + i] = (select(i, ...)) end
  return cb(unpack(all, 1, n + m))
end

-- Waits for the result and keeps it in the job, once; then runs its callback, if any.
local function settle(job)
  local server, err = job_settle(job)
  if not server then return end
  if err then setmetatable(err, RemoteError) end
  local callbacks = server._callbacks
  local entry = callbacks and callbacks[job]
  if entry then
    callbacks[job] = nil
    server._cb_count = server._cb_count - 1
    call_back(entry[1], entry[2], job_values(job))
  end
end
M.settle = settle

-- Registers `cb` (and its leading arguments) for `job` of `server`.
function M.add_callback(server, job, cb, cbargs)
  server._callbacks[job] = { cb, cbargs }
  server._cb_count = server._cb_count + 1
  local fresh = server._cb_fresh
  fresh[#fresh + 1] = job
end

local function by_id(a, b) return job_id(a) < job_id(b) end

-- Callback jobs not yet watched, at most this many, are checked one by one.
local FOLD_AT = 16

-- Appends the finished jobs of every batch, and of the jobs not yet watched, to the
-- `_cb_ready` queue, in submission order.
local function collect_finished(server)
  local watches, ready = server._cb_watches, server._cb_ready
  local first = #ready + 1
  local fresh, kept = server._cb_fresh, 0
  for k = 1, #fresh do
    local job = fresh[k]
    fresh[k] = nil
    if job_done(job) then
      ready[#ready + 1] = job
    else
      kept = kept + 1
      fresh[kept] = job
    end
  end
  local i = 1
  while i <= #watches do
    local w = watches[i].w
    local job = w:next(0)
    while job do
      ready[#ready + 1] = job
      job = w:next(0)
    end
    if w:remaining() == 0 then
      w:close()
      table_remove(watches, i)
    else
      i = i + 1
    end
  end
  if #ready > first then
    local found = {}
    for k = first, #ready do found[#found + 1] = ready[k] end
    table_sort(found, by_id)
    for k = 1, #found do ready[first + k - 1] = found[k] end
  end
end

-- Folds the callback jobs submitted since the last fold into the watched batches (after
-- the finished ones ran, so that only unfinished jobs move): a new batch absorbs every
-- batch with no more unfinished jobs than it has.
local function fold_fresh(server)
  local batch = server._cb_fresh
  if #batch < FOLD_AT then return end
  server._cb_fresh = {}
  local watches, callbacks = server._cb_watches, server._callbacks
  while #watches > 0 and watches[#watches].w:remaining() <= #batch do
    local absorbed = table_remove(watches)
    absorbed.w:close()   -- at once: a job in two watches would be handed to both
    for _, job in ipairs(absorbed.jobs) do
      if callbacks[job] then batch[#batch + 1] = job end
    end
  end
  watches[#watches + 1] = { w = server._c:watch(batch), jobs = batch }
end

-- The queue is kept in the server, so that after an error in a callback the others run
-- at the next call.
local function run_ready(server)
  collect_finished(server)
  local ready, callbacks = server._cb_ready, server._callbacks
  while server._cb_head <= #ready do
    local job = ready[server._cb_head]
    ready[server._cb_head] = false
    server._cb_head = server._cb_head + 1
    if callbacks[job] then settle(job) end
  end
  server._cb_ready, server._cb_head = {}, 1
  fold_fresh(server)
end

-- Runs the callbacks of every finished job of `server` (not while one is running: a
-- callback that calls into the library does not run others inside it). An error in a
-- callback reaches the caller; the callbacks after it run at the next call.
function M.poll(server)
  if server._cb_count == 0 or server._in_poll then return end
  server._in_poll = true
  local ok, err = pcall(run_ready, server)
  server._in_poll = false
  if not ok then error(err, 0) end
end

-- Every job with a callback has finished (after wait_all): runs them all, in submission order.
function M.run_all_callbacks(server)
  local ids, by = {}, {}
  for job in pairs(server._callbacks) do
    local id = job_id(job)
    ids[#ids + 1] = id
    by[id] = job
  end
  table_sort(ids)
  for _, watch in ipairs(server._cb_watches) do watch.w:close() end
  server._cb_fresh, server._cb_watches, server._cb_ready, server._cb_head = {}, {}, {}, 1
  for i = 1, #ids do settle(by[ids[i]]) end
end

local function raise_or_values(ok, ...)
  if ok then return ... end
  error((...), 0)
end

local function nil_err_or_values(ok, ...)
  if ok then return ... end
  return nil, (...)
end

-- job(): waits, then returns the job's values or raises its RemoteError.
Job.__call = function(job)
  settle(job)
  return raise_or_values(job_values(job))
end

-- job:result(): like job() but returns nil, err instead of raising.
function job_methods.result(job)
  settle(job)
  return nil_err_or_values(job_values(job))
end

-- job:done(): whether its result is in (never blocks).
function job_methods.done(job) return job_done(job) end

-- job:status(): "pending" | "running" | "finished" | "failed" | "cancelled".
function job_methods.status(job) return job_status(job) end

-- job:cancel(): stops the job wherever it is; true when it had not finished (then job()
-- raises a pp.RemoteError of kind "cancelled").
function job_methods.cancel(job)
  local server = job_anchor(job)
  if not server then return false end
  local cancelled = server._c:cancel(job)
  M.poll(server)
  return cancelled
end

return M
