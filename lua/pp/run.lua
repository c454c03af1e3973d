-- pp.run: js:run(fn, args [, opts]) runs `fn` once on every worker of every connected
-- node (Dask's client.run, IPython Parallel's direct view) and returns
-- { [worker.id] = first result }.
--
--   local pids = js:run(function() return require("ffi").C.getpid() end)
--   for id, pid in pairs(pids) do print(id, pid) end      -- "host:port#1  12345", ...
--   js:run(warm_cache, {"/data/grid.bin"}, { nodes = {"node1:60000"} })
--
-- Each worker gets one job placed on it (SUBMIT names the worker: the node gives it to
-- that worker after what it runs now, never to another, and the driver never steals or
-- backs it up). A worker's id is "host:port#k" as the node names itself (the job's
-- worker.id). When some workers fail, js:run raises one pp.RemoteError whose `errors`
-- maps each failed worker's id to its own pp.RemoteError and whose `results` holds the
-- first results of the workers that succeeded. A node that cannot place a job on one
-- worker (an older ppserver) fails its workers' entries with a message naming it.
local options = require "pp.options"
local pjob = require "pp.job"

local type, ipairs, pairs, error, tostring, setmetatable =
  type, ipairs, pairs, error, tostring, setmetatable
local string_format = string.format
local table_concat, table_sort = table.concat, table.sort

local RemoteError = pjob.RemoteError

local M = {}

local RUN_OPTIONS = options.names{ "nodes", "depfuncs", "modules", "timeout" }

-- The connected nodes `wanted` names (by the name the driver uses, or as the node
-- names itself), all of them when it is nil; raises at the user's line for a name that
-- is not connected.
local function targets(places, wanted)
  if wanted == nil then return places end
  if type(wanted) ~= "table" then
    error("run: nodes must be a list of \"host:port\" names, got " .. type(wanted), 3)
  end
  local by_name = {}
  for _, p in ipairs(places) do
    by_name[p.name] = p
    by_name[p.node] = by_name[p.node] or p
  end
  local chosen, seen = {}, {}
  for i = 1, #wanted do
    local name = wanted[i]
    local p = type(name) == "string" and by_name[name]
    if not p then
      local known = {}
      for _, q in ipairs(places) do known[#known + 1] = q.name end
      error(string_format("run: nodes[%d] = %s is not a connected node (connected: %s)", i,
        tostring(name), #known > 0 and table_concat(known, ", ") or "none"), 3)
    end
    if not seen[p] then
      seen[p] = true
      chosen[#chosen + 1] = p
    end
  end
  return chosen
end

-- The connected nodes; with none yet (a cluster just made), waits for the first.
local function connected(server)
  local places = server._c:node_places()
  if #places == 0 then
    local ok, err = server._c:wait_for_workers(1, 60)
    if not ok then error("run: no node is connected: " .. tostring(err), 3) end
    places = server._c:node_places()
  end
  return places
end

-- One pp.RemoteError for the failed workers (`errors`: id -> error), with the results of
-- the others.
local function failure(errors, failed, results, total)
  local ids = {}
  for id in pairs(errors) do ids[#ids + 1] = id end
  table_sort(ids)
  local first = errors[ids[1]]
  local message = string_format("%d of %d workers failed; %s: %s", failed, total, ids[1],
    first.message or tostring(first))
  return setmetatable({ kind = "run", message = message, errors = errors, results = results },
    RemoteError)
end

-- js:run(fn, args [, { nodes = {"host:port", ...}, depfuncs = ..., modules = ...,
-- timeout = s }]) -> { [worker id] = first result }
function M.run(server, fn, args, opts)
  if type(fn) ~= "function" then error("run: expected a function, got " .. type(fn), 2) end
  if args ~= nil and type(args) ~= "table" then
    error("run: args must be a table (a list of arguments), got " .. type(args), 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error("run: options must be a table, got " .. type(opts), 2) end
  options.check(opts, RUN_OPTIONS, "js:run(fn, args, {...})", 2)
  local timeout = options.seconds(opts.timeout, "run: timeout", 2)
  local places = targets(connected(server), opts.nodes)
  local jobs, ids = {}, {}
  for _, p in ipairs(places) do
    for k = 1, p.workers do
      local job = server:_submit_placed(fn, args, opts.depfuncs, opts.modules,
        { node = p.name, worker = k, timeout = timeout })
      jobs[#jobs + 1] = job
      ids[#ids + 1] = p.node .. "#" .. k
    end
  end
  local results, errors, failed = {}, {}, 0
  for i, job in ipairs(jobs) do
    local value, err = job:result()
    if job:status() == "finished" then
      results[ids[i]] = value
    else
      errors[ids[i]] = err
      failed = failed + 1
    end
  end
  if failed > 0 then error(failure(errors, failed, results, #jobs), 2) end
  return results
end

return M
