-- pp: the Lua driver API of ppcluster, close to Parallel Python's.
--
--   local pp = require "pp"
--   local js = pp.server{ ppservers = {"node1:60000"}, secret = "..." }  -- or pp.server() alone
--   local function square(x) return x * x end
--   local job = js:submit(square, {7})
--   print(job())                     -- 49; waits; raises the remote error if the job failed
--   local ys = js:map(square, {1, 2, 3})
--   js:print_stats()
--
-- Job functions travel as LuaJIT bytecode, so they may not use upvalues (locals
-- from outside them): pass such values as arguments, or functions as depfuncs.
local core = require "pp.core"
local core_code_blob = core.code_blob

local type, pairs, ipairs, error, tostring, setmetatable =
  type, pairs, ipairs, error, tostring, setmetatable
local string_dump, string_format = string.dump, string.format
local debug_getupvalue, debug_getinfo = debug.getupvalue, debug.getinfo
local io_write = io.write
local math_min, math_max, math_floor, math_huge = math.min, math.max, math.floor, math.huge
local table_concat = table.concat

local M = { _VERSION = core.version, DEFAULT_PORT = core.default_port }

-- A job failure: names the job, the node, the kind and the Lua traceback. A job
-- that raised a value other than a string (error({code = 42})) has it in `value`
-- (a plain copy: no metatable); `message` is then the value's __tostring, if any.
local RemoteError = {}
RemoteError.__index = RemoteError
RemoteError.__tostring = function(e)
  local where = (e.node and e.node ~= "") and (" on node " .. e.node) or ""
  local s = string_format("job %d failed%s (%s): %s", e.job or 0, where, e.kind or "error",
    e.message or "")
  if e.traceback and e.traceback ~= "" then s = s .. "\nremote " .. e.traceback end
  return s
end
M.RemoteError = RemoteError

local function describe(fn)
  local info = debug_getinfo(fn, "S")
  return string_format("%s:%d", info.short_src or "?", info.linedefined or 0)
end

-- Upvalues cannot travel; those named like a dependency function or a module
-- alias are rebound to it on the node, anything else is refused with advice.
local function check_portable(fn, what, provided)
  for i = 1, 255 do
    local name = debug_getupvalue(fn, i)
    if name == nil then return end
    if not (provided and provided[name]) then
      error(string_format("%s (defined at %s) uses the upvalue '%s', a local variable from " ..
        "outside the function; jobs run on other machines, so pass the value as an argument " ..
        "(or a function in depfuncs, a module in modules)", what, describe(fn), name), 4)
    end
  end
end

local function global_name_of(fn)
  for k, v in pairs(_G) do
    if v == fn and type(k) == "string" then return k end
  end
end

local function build_blob(fn, depfuncs, modules)
  local deps, mods, provided = {}, {}, {}
  local dep_fns = {}
  if depfuncs ~= nil then
    if type(depfuncs) ~= "table" then error("depfuncs must be a table", 3) end
    for k, f in pairs(depfuncs) do
      if type(f) ~= "function" then error("depfuncs entries must be functions", 3) end
      local name = k
      if type(k) == "number" then
        name = global_name_of(f)
        if not name then
          error("depfuncs[" .. k .. "] (defined at " .. describe(f) .. ") has no global " ..
            "name; pass depfuncs as {name = fn}", 3)
        end
      end
      dep_fns[name] = f
      provided[name] = true
    end
  end
  if modules ~= nil then
    if type(modules) ~= "table" then error("modules must be a table", 3) end
    for k, m in pairs(modules) do
      if type(m) ~= "string" then error("modules entries must be module names", 3) end
      local alias = k
      if type(k) == "number" then alias = m:match("([^%.]+)$") end
      mods[alias] = m
      provided[alias] = true
    end
  end
  check_portable(fn, "the job function", provided)
  for name, f in pairs(dep_fns) do
    check_portable(f, "dependency '" .. name .. "'", provided)
    deps[name] = string_dump(f)
  end
  return core_code_blob("bytecode", describe(fn), string_dump(fn), deps, mods)
end

-- A job object is one userdata of pp.core (ppclient/src/lua_job.hpp): until its result
-- is in it holds the engine's state, then the result itself (a number in place, other
-- values in one table), so a batch of a million jobs costs a million of these and no
-- table each. Its environment is its server until then: a job kept keeps the cluster.
local job_id, job_node, job_done = core.job_id, core.job_node, core.job_done
local job_settle, job_values, job_stdout = core.job_settle, core.job_values, core.job_stdout

local Job = core.job_metatable()
local job_methods = {}
Job.__index = function(job, key)
  if key == "id" then return job_id(job) end
  if key == "node" then return job_node(job) end
  if key == "stdout" then return job_stdout(job) end
  return job_methods[key]
end

local function callback_values(ok, ...) return ... end

-- Waits for the result and keeps it in the job, once; then runs its callback, if any.
local function settle(job)
  local server, err = job_settle(job)
  if not server then return end
  if err then setmetatable(err, RemoteError) end
  local callbacks = server._callbacks
  local cb = callbacks[job]
  if cb then
    callbacks[job] = nil
    if err then cb(nil, err) else cb(callback_values(job_values(job))) end
  end
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

-- job.id: its number in this cluster.
-- job.node: after the job finished, the node that ran it ("host:port" or "local").
-- job.stdout: once it finished, what it printed ("" when nothing; nil before).
-- job:result(): like job() but returns nil, err instead of raising.
function job_methods.result(job)
  settle(job)
  return nil_err_or_values(job_values(job))
end

function job_methods.done(job) return job_done(job) end

local Server = {}
Server.__index = Server

-- The options pp.server knows; anything else is a mistake worth a message.
local SERVER_OPTIONS = { "ncpus", "ppservers", "secret", "job_timeout", "no_node_timeout",
                         "encrypt", "scheduling", "journal", "echo_output" }

-- Levenshtein distance between two short strings.
local function edit_distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math_min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- Raises, at the caller of pp.server, for the first key that is not an option,
-- naming the nearest option when it is close enough to be a slip.
local function check_option_names(opts)
  for k in pairs(opts) do
    local known = false
    for _, name in ipairs(SERVER_OPTIONS) do known = known or k == name end
    if not known then
      if type(k) ~= "string" then
        error(string_format("pp.server{...} takes named options (for example " ..
          "pp.server{ppservers = {...}}), not a value at [%s]", tostring(k)), 3)
      end
      local best, best_d = nil, math_huge
      for _, name in ipairs(SERVER_OPTIONS) do
        local d = edit_distance(k:lower(), name)
        if d < best_d then best, best_d = name, d end
      end
      local hint = best_d <= math_max(2, math_floor(#k / 3)) and
        string_format("did you mean '%s'?", best) or
        "known options: " .. table_concat(SERVER_OPTIONS, ", ")
      error(string_format("unknown option '%s' in pp.server{...}; %s", k, hint), 3)
    end
  end
end

-- pp.server{ ncpus = "autodetect" | n, ppservers = {"host:port", ...}, secret = "...",
--            job_timeout = seconds, no_node_timeout = seconds, encrypt = true|false,
--            scheduling = "adaptive" | "free-slot", journal = "file",
--            echo_output = true|false (default true: what jobs print is echoed) }
function M.server(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("pp.server expects a table of options", 2) end
  check_option_names(opts)
  if opts.echo_output ~= nil and type(opts.echo_output) ~= "boolean" then
    error("echo_output must be true or false, got " .. type(opts.echo_output), 2)
  end
  if opts.secret ~= nil and type(opts.secret) ~= "string" then
    error("secret must be a string, got " .. type(opts.secret), 2)
  end
  local ncpus = opts.ncpus
  if ncpus == nil or ncpus == "autodetect" then ncpus = -1 end
  if type(ncpus) ~= "number" then error("ncpus must be a number or \"autodetect\"", 2) end
  local servers = {}
  for i, s in ipairs(opts.ppservers or {}) do
    if type(s) ~= "string" then error("ppservers entries must be \"host:port\" or \"*\"", 2) end
    servers[i] = s
  end
  if opts.scheduling ~= nil and opts.scheduling ~= "adaptive" and opts.scheduling ~= "free-slot" then
    error("scheduling must be \"adaptive\" or \"free-slot\"", 2)
  end
  local c, err = core.new{ servers = servers, local_workers = ncpus, secret = opts.secret,
                           job_timeout = opts.job_timeout, no_node_timeout = opts.no_node_timeout,
                           encrypt = opts.encrypt == true, scheduling = opts.scheduling,
                           journal = opts.journal, echo_output = opts.echo_output }
  if not c then error("pp.server: " .. err, 2) end
  -- _nodes: the names of the nodes that ran jobs, each once (name <-> index), for job.node.
  return setmetatable({ _c = c, _pending = {}, _callbacks = {}, _nodes = {},
                        _blobs = setmetatable({}, { __mode = "k" }), _by_dump = {}, _dumps = 0 },
                      Server)
end

-- js:submit(fn, args, depfuncs, modules, callback) -> job
-- The job gets args[1..args.n] when args.n is set (so nil arguments travel:
-- {1, nil, 3, n = 3}), else args[1..#args].
function Server:submit(fn, args, depfuncs, modules, callback, timeout)
  if type(fn) ~= "function" then
    error("submit: expected a function, got " .. type(fn), 2)
  end
  if args ~= nil and type(args) ~= "table" then
    error("submit: args must be a table (a list of arguments), got " .. type(args), 2)
  end
  local blob
  if depfuncs == nil and modules == nil then
    blob = self._blobs[fn]
    if not blob then
      -- A closure made afresh for each job (js:submit(function(x) ... end, ...) in a
      -- loop) has the bytecode of the last one: its blob is found by that.
      local dump = string_dump(fn)
      blob = self._by_dump[dump]
      if not blob then
        blob = build_blob(fn)
        self._blobs[fn] = blob
        if self._dumps >= 1000 then self._by_dump, self._dumps = {}, 0 end
        self._by_dump[dump] = blob
        self._dumps = self._dumps + 1
      end
    end
  else
    blob = build_blob(fn, depfuncs, modules)
  end
  local job, err = self._c:submit(blob, args, timeout, self)
  if not job then error("submit: " .. err, 2) end
  -- Collected, the job takes its state along: the driver forgets it (and its result,
  -- if it was never taken).
  if callback then
    self._pending[#self._pending + 1] = job
    self._callbacks[job] = callback
  end
  return job
end

-- js:map(fn, list [, depfuncs, modules]) -> results, in order (fn gets one item each)
function Server:map(fn, list, depfuncs, modules)
  local jobs = {}
  for i = 1, #list do jobs[i] = self:submit(fn, { list[i] }, depfuncs, modules) end
  local out = {}
  for i = 1, #jobs do out[i] = jobs[i]() end
  return out
end

-- js:wait(): waits for every job, running pending callbacks in submission order.
function Server:wait()
  self._c:wait_all()
  local pending = self._pending
  self._pending = {}
  for _, job in ipairs(pending) do settle(job) end
end

function Server:get_ncpus() return self._c:ncpus() end
function Server:get_active_nodes() return self._c:nodes() end
function Server:get_stats() return self._c:stats() end
function Server:print_stats() io_write(self._c:stats_table()) end
-- js:report(): the contribution report as JSON; js:report(path) writes it there
-- (.json, .html, .svg, else the text table) and returns true, or nil and the reason.
function Server:report(path) return self._c:report(path) end
function Server:destroy() self._c:close() end

return M
