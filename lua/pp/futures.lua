-- pp.futures: waiting on many jobs and stopping them — js:wait(what, opts),
-- js:as_completed(what, opts), js:cancel(what), js:wait_for_workers(n, timeout).
--
-- `what` is a list of jobs, one job, a group name, or nil for every job the driver still
-- holds (the server knows them through a table with weak values, by id: a job the driver
-- dropped is not kept by it). Blocking is in the engine (pp.core's completions, on a
-- condition variable): no CPU is used while waiting.
local job = require "pp.job"
local options = require "pp.options"

local type, pairs, ipairs, error, tostring = type, pairs, ipairs, error, tostring
local string_format = string.format
local table_sort, table_concat = table.sort, table.concat
local core = require "pp.core"
local job_done = core.job_done
local is_job, poll, settle = job.is_job, job.poll, job.settle

local M = {}

-- The jobs of `set` (job -> id) in the order of their ids.
local function in_id_order(set)
  local ids, by_id = {}, {}
  for j, id in pairs(set) do
    ids[#ids + 1] = id
    by_id[id] = j
  end
  table_sort(ids)
  for i = 1, #ids do ids[i] = by_id[ids[i]] end
  return ids
end

-- The jobs `what` stands for, as a list; raises at the caller of `fname`'s caller.
local function jobs_of(server, what, fname)
  if what == nil then
    local ids, list = {}, {}
    for id in pairs(server._all) do ids[#ids + 1] = id end
    table_sort(ids)
    local all = server._all
    for i = 1, #ids do list[#list + 1] = all[ids[i]] end   -- nil if collected meanwhile
    return list
  end
  if type(what) == "string" then
    local group = server._groups[what]
    if not group then
      local names = {}
      for name in pairs(server._groups) do names[#names + 1] = string_format("'%s'", name) end
      table_sort(names)
      error(string_format("%s: no job was submitted in group '%s' (groups: %s)", fname, what,
        #names > 0 and table_concat(names, ", ") or "none"), 3)
    end
    return in_id_order(group)
  end
  if is_job(what) then return { what } end
  if type(what) ~= "table" then
    error(string_format("%s: expected a list of jobs, a job or a group name, got %s", fname,
      type(what)), 3)
  end
  local n = what.n or #what
  for i = 1, n do
    if not is_job(what[i]) then
      error(string_format("%s: jobs[%d] is a %s, not a job", fname, i, type(what[i])), 3)
    end
  end
  return what
end
M.jobs_of = jobs_of

local WAIT_OPTIONS = options.names{ "timeout", "return_when" }
local RETURN_WHEN = { ALL_COMPLETED = "all", FIRST_COMPLETED = "first",
                      FIRST_EXCEPTION = "exception" }

-- js:wait(what, {timeout = s, return_when = "ALL_COMPLETED" | "FIRST_COMPLETED" |
-- "FIRST_EXCEPTION"}) -> done, not_done (lists of jobs, in the order of `what`).
-- js:wait() alone waits for every job and returns nothing, as it always did.
function M.wait(server, what, opts)
  if what == nil and opts == nil then
    server._c:wait_all()
    job.run_all_callbacks(server)
    return
  end
  local jobs = jobs_of(server, what, "wait")
  opts = opts or {}
  if type(opts) ~= "table" then error("wait: options must be a table, got " .. type(opts), 2) end
  options.check(opts, WAIT_OPTIONS, "js:wait(what, {...})", 2)
  local timeout = options.seconds(opts.timeout, "wait: timeout", 2)
  local mode = RETURN_WHEN[opts.return_when or "ALL_COMPLETED"]
  if not mode then
    error(string_format("wait: return_when must be \"ALL_COMPLETED\", \"FIRST_COMPLETED\" " ..
      "or \"FIRST_EXCEPTION\", got %s", tostring(opts.return_when)), 2)
  end
  poll(server)
  local w = server._c:watch(jobs, timeout)
  w:wait(mode)
  w:close()
  poll(server)
  local done, not_done = {}, {}
  for i = 1, jobs.n or #jobs do
    local j = jobs[i]
    if job_done(j) then done[#done + 1] = j else not_done[#not_done + 1] = j end
  end
  return done, not_done
end

local AS_COMPLETED_OPTIONS = options.names{ "timeout" }

-- for job in js:as_completed(what [, {timeout = s}]) do ... end: the jobs in the order
-- they finish (those finished already first); past the timeout (counted from the
-- call), raises an error saying how many are unfinished.
function M.as_completed(server, what, opts)
  local jobs = jobs_of(server, what, "as_completed")
  opts = opts or {}
  if type(opts) ~= "table" then
    error("as_completed: options must be a table, got " .. type(opts), 2)
  end
  options.check(opts, AS_COMPLETED_OPTIONS, "js:as_completed(what, {...})", 2)
  local timeout = options.seconds(opts.timeout, "as_completed: timeout", 2)
  poll(server)
  local w = server._c:watch(jobs, timeout)
  local total = jobs.n or #jobs
  local callbacks = server._callbacks
  return function()
    local j, why = w:next()
    if j == nil then
      local unfinished = w:remaining()
      w:close()
      if why == "timeout" then
        error(string_format("as_completed: timed out after %g s with %d of %d jobs unfinished",
          timeout, unfinished, total), 2)
      end
      return nil
    end
    if callbacks[j] then settle(j) end
    poll(server)
    return j
  end
end

-- js:cancel(what) -> how many of those jobs were stopped before they finished.
function M.cancel(server, what)
  local jobs = jobs_of(server, what, "cancel")
  local c, n = server._c, 0
  for i = 1, jobs.n or #jobs do
    if c:cancel(jobs[i]) then n = n + 1 end
  end
  poll(server)
  return n
end

-- js:wait_for_workers(n [, timeout = 60]): returns once at least n workers are connected;
-- else raises an error naming what is connected and the nodes' last errors.
function M.wait_for_workers(server, n, timeout)
  if type(n) ~= "number" or n < 0 or n ~= math.floor(n) then
    error("wait_for_workers: n must be a whole number of workers >= 0, got " .. tostring(n), 2)
  end
  timeout = options.seconds(timeout, "wait_for_workers: timeout", 2) or 60
  poll(server)
  local ok, err = server._c:wait_for_workers(n, timeout)
  poll(server)
  if not ok then error("wait_for_workers: " .. err, 2) end
  return true
end

return M
