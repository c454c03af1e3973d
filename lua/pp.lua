-- pp: the Lua driver API of ppcluster, close to Parallel Python's.
--
--   local pp = require "pp"
--   local js = pp.server{ ppservers = {"node1:60000"}, secret = "..." }  -- or pp.server() alone
--   local function square(x) return x * x end
--   local job = js:submit(square, {7})
--   print(job())                     -- 49; waits; raises the remote error if the job failed
--   for j in js:as_completed{js:submit(square, {2}), js:submit(square, {3})} do print(j()) end
--   local ys = js:map(square, {1, 2, 3})
--   js:print_stats()
--
-- Job functions travel as LuaJIT bytecode, so they may not use upvalues (locals
-- from outside them): pass such values as arguments, or functions as depfuncs.
--
-- Callbacks run on the driver's thread, never concurrently with its code: at its next
-- call into the library (submit, wait, as_completed, job(), job:result(), cancel,
-- wait_for_workers, map), each finished job's callback once.
--
-- The modules behind it: pp.options (option checks), pp.code (the code that travels),
-- pp.job (the job object, pp.RemoteError, callbacks), pp.futures (wait, as_completed,
-- cancel, wait_for_workers), pp.run (js:run: once on every worker), pp.pipeline
-- (js:pipeline: stages over a stream), pp.core (C: the engine's side).
local core = require "pp.core"
local options = require "pp.options"
local code = require "pp.code"
local pjob = require "pp.job"
local futures = require "pp.futures"
local run = require "pp.run"
local pipeline = require "pp.pipeline"

local type, ipairs, error, tostring, select, setmetatable =
  type, ipairs, error, tostring, select, setmetatable
local string_dump, string_format = string.dump, string.format
local io_write = io.write
local math_floor = math.floor

local job_id, is_job, poll, add_callback = core.job_id, pjob.is_job, pjob.poll, pjob.add_callback

local M = { _VERSION = core.version, DEFAULT_PORT = core.default_port, RemoteError = pjob.RemoteError }

local Server = {}
Server.__index = Server

-- The options pp.server knows; anything else is a mistake worth a message.
local SERVER_OPTIONS = options.names{ "ncpus", "ppservers", "secret", "job_timeout",
  "no_node_timeout", "encrypt", "scheduling", "journal", "echo_output", "progress",
  "dashboard", "dashboard_linger" }

local WEAK_VALUES = { __mode = "v" }

-- pp.server{ ncpus = "autodetect" | n, ppservers = {"host:port", ...}, secret = "...",
--            job_timeout = seconds, no_node_timeout = seconds, encrypt = true|false,
--            scheduling = "adaptive" | "free-slot", journal = "file",
--            echo_output = true|false (default true: what jobs print is echoed),
--            progress = true|false (default: a progress bar when stderr is a terminal),
--            dashboard = "[address:]port" (a live page of the batch; "8787" is
--            127.0.0.1:8787), dashboard_linger = seconds (the final state stays up
--            that long when the cluster closes) }
-- job_timeout: the time limit of every job of this cluster, in seconds (0 or nil: none);
-- a job's own `timeout` (js:submit{..., timeout = s}) takes its place for that job.
function M.server(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("pp.server expects a table of options", 2) end
  options.check(opts, SERVER_OPTIONS, "pp.server{...}", 2)
  if opts.echo_output ~= nil and type(opts.echo_output) ~= "boolean" then
    error("echo_output must be true or false, got " .. type(opts.echo_output), 2)
  end
  if opts.progress ~= nil and type(opts.progress) ~= "boolean" then
    error("progress must be true or false, got " .. type(opts.progress), 2)
  end
  if opts.secret ~= nil and type(opts.secret) ~= "string" then
    error("secret must be a string, got " .. type(opts.secret), 2)
  end
  local dashboard = opts.dashboard
  if type(dashboard) == "number" then dashboard = tostring(dashboard) end
  if dashboard ~= nil and type(dashboard) ~= "string" then
    error("dashboard must be \"[address:]port\", got " .. type(dashboard), 2)
  end
  local linger = options.seconds(opts.dashboard_linger, "dashboard_linger", 2)
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
                           journal = opts.journal, echo_output = opts.echo_output,
                           progress = opts.progress, dashboard = dashboard,
                           dashboard_linger = linger }
  if not c then error("pp.server: " .. err, 2) end
  -- _nodes: the names of the nodes that ran jobs, each once (name <-> index), for job.node.
  -- _all: every job by id, weakly (js:wait(nil, ...)); _groups: name -> {job = id}, weak keys.
  -- _callbacks: job -> {callback, callbackargs} until it ran (the rest: pp.job's poll).
  return setmetatable({ _c = c, _callbacks = {}, _cb_count = 0, _cb_fresh = {},
                        _cb_watches = {}, _cb_ready = {}, _cb_head = 1, _nodes = {},
                        _all = setmetatable({}, WEAK_VALUES), _groups = {},
                        _blobs = setmetatable({}, { __mode = "k" }), _by_dump = {}, _dumps = 0 },
                      Server)
end

-- The blob of a function submitted without depfuncs and modules, made once per function.
local function plain_blob(self, fn)
  local blob = self._blobs[fn]
  if blob then return blob end
  -- A closure made afresh for each job (js:submit(function(x) ... end, ...) in a
  -- loop) has the bytecode of the last one: its blob is found by that.
  local dump = string_dump(fn)
  blob = self._by_dump[dump]
  if not blob then
    local err
    blob, err = code.blob(fn)
    if not blob then return nil, err end
    if self._dumps >= 1000 then self._by_dump, self._dumps = {}, 0 end
    self._by_dump[dump] = blob
    self._dumps = self._dumps + 1
  end
  self._blobs[fn] = blob
  return blob
end

local SPEC_KEYS = options.names{ "depfuncs", "modules", "callback", "callbackargs", "group",
  "timeout", "retries", "after", "node", "keep" }
local function spec_position(k) return k == 1 or k == 2 end

-- The checked options of a spec (nil when it has none that the engine needs), or raises
-- at the user's line.
local function job_options(spec)
  local timeout = options.seconds(spec.timeout, "submit: timeout", 3)
  if timeout and timeout * 1000 >= 2 ^ 32 then
    error("submit: timeout must be under 4294967 s (about 49 days), got " .. timeout, 3)
  end
  local retries = spec.retries
  if retries ~= nil and (type(retries) ~= "number" or retries < 0 or retries ~= math_floor(retries)
                         or retries > 1000) then
    error("submit: retries must be a whole number from 0 to 1000, got " .. tostring(retries), 3)
  end
  if spec.node ~= nil and (type(spec.node) ~= "string" or not spec.node:find(".:%d+$")
                           and spec.node ~= "local") then
    error("submit: node must be \"host:port\" (or \"local\"), got " .. tostring(spec.node), 3)
  end
  local after = spec.after
  if after ~= nil then
    if type(after) ~= "table" or is_job(after) then
      error("submit: after must be a list of jobs ({job, ...}), got " ..
        (is_job(after) and "a job" or type(after)), 3)
    end
    for i = 1, #after do
      if not is_job(after[i]) then
        error(string_format("submit: after[%d] is a %s, not a job", i, type(after[i])), 3)
      end
    end
  end
  if spec.keep ~= nil and type(spec.keep) ~= "boolean" then
    error("submit: keep must be true or false, got " .. type(spec.keep), 3)
  end
  if timeout == nil and retries == nil and spec.node == nil and spec.group == nil
     and after == nil and not spec.keep then
    return nil
  end
  return { timeout = timeout, retries = retries, node = spec.node, group = spec.group,
           after = after, keep = spec.keep or nil }
end

-- The job of a checked submission.
local function submit(self, fn, args, depfuncs, modules, callback, cbargs, group, opts)
  if type(fn) ~= "function" then error("submit: expected a function, got " .. type(fn), 3) end
  if args ~= nil and type(args) ~= "table" then
    error("submit: args must be a table (a list of arguments), got " .. type(args), 3)
  end
  if callback ~= nil and type(callback) ~= "function" then
    error("submit: callback must be a function, got " .. type(callback), 3)
  end
  if cbargs ~= nil and type(cbargs) ~= "table" then
    error("submit: callbackargs must be a table (a list of values), got " .. type(cbargs), 3)
  end
  if group ~= nil and (type(group) ~= "string" or group == "") then
    error("submit: group must be a non-empty string, got " .. tostring(group), 3)
  end
  local blob, err
  if depfuncs == nil and modules == nil then
    blob, err = plain_blob(self, fn)
  else
    blob, err = code.blob(fn, depfuncs, modules)
  end
  if not blob then error("submit: " .. err, 3) end
  if self._cb_count > 0 then poll(self) end
  local job
  job, err = self._c:submit(blob, args, self, opts)
  if not job then error("submit: " .. err, 3) end
  -- Weakly: collected, the job takes its state along and the driver forgets it (and its
  -- result, if it was never taken). A job with a callback is held until it ran.
  self._all[job_id(job)] = job
  if group then
    local members = self._groups[group]
    if not members then
      members = setmetatable({}, { __mode = "k" })
      self._groups[group] = members
    end
    members[job] = job_id(job)
  end
  if callback then add_callback(self, job, callback, cbargs) end
  return job
end

-- js:submit(fn, args, depfuncs, modules, callback, callbackargs, group) -> job
-- js:submit{ fn, args, depfuncs = ..., modules = ..., callback = ..., callbackargs = {...},
--            group = "name", timeout = s, retries = n, after = {job, ...}, node = "host:port",
--            keep = true }   (keep: its value stays on its node; see the README)
-- The job gets args[1..args.n] when args.n is set (so nil arguments travel:
-- {1, nil, 3, n = 3}), else args[1..#args]. depfuncs: {sq} (bound under the name the
-- job function uses for it) or {name = fn}; modules: {"pp.native"} or {alias = "mod"}.
-- The callback gets callbackargs' values, then the job's values (nil, err if it failed).
function Server:submit(fn, args, depfuncs, modules, callback, cbargs, group, ...)
  if type(fn) == "table" and not is_job(fn) then
    if args ~= nil then
      error("submit{...}: the spec form takes one table; put args inside it: " ..
        "js:submit{fn, args, ...}", 2)
    end
    local spec = fn
    options.check(spec, SPEC_KEYS, "js:submit{...}", 2, spec_position)
    local job = submit(self, spec[1], spec[2], spec.depfuncs, spec.modules, spec.callback,
      spec.callbackargs, spec.group, job_options(spec))
    return job
  end
  if type(cbargs) == "number" then
    error("submit: the 6th argument is callbackargs (a table); a job's time limit goes in " ..
      "the spec form: js:submit{fn, args, timeout = seconds}", 2)
  end
  if select("#", ...) > 0 then
    error("submit: at most 7 arguments (fn, args, depfuncs, modules, callback, callbackargs, " ..
      "group); use the spec form js:submit{fn, args, ...} for more options", 2)
  end
  local job = submit(self, fn, args, depfuncs, modules, callback, cbargs, group,
    group and { group = group } or nil)
  return job
end

-- js:map(fn, list [, depfuncs, modules]) -> results, in order (fn gets one item each)
function Server:map(fn, list, depfuncs, modules)
  local jobs = {}
  for i = 1, #list do jobs[i] = submit(self, fn, { list[i] }, depfuncs, modules) end
  local out = {}
  for i = 1, #jobs do out[i] = jobs[i]() end
  return out
end

-- The job of `fn` placed by pp.run (opts: node, worker, timeout; checked there).
function Server:_submit_placed(fn, args, depfuncs, modules, opts)
  return submit(self, fn, args, depfuncs, modules, nil, nil, nil, opts)
end

Server.run = run.run
Server.pipeline = pipeline.pipeline
Server.wait = futures.wait
Server.as_completed = futures.as_completed
Server.cancel = futures.cancel
Server.wait_for_workers = futures.wait_for_workers

-- js:scatter(value [, { broadcast = true }]) -> a handle to put anywhere in a job's args:
-- the job receives the value itself. The value goes to each node once (before the first
-- job there that names it; to every connected node now with broadcast) and each worker
-- decodes it once, handing the same value to every job of this script there (changes a
-- job makes are seen by the next jobs of this script on that worker, never by another
-- client's). h:release(), or the handle being collected, frees it on the nodes once no
-- job needs it. A value larger than every connected node takes is refused here.
function Server:scatter(value, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("scatter: options must be a table ({ broadcast = true }), got " .. type(opts), 2)
  end
  local broadcast = opts ~= nil and opts.broadcast
  if broadcast ~= nil and type(broadcast) ~= "boolean" then
    error("scatter: broadcast must be a boolean, got " .. type(broadcast), 2)
  end
  local ok, h = pcall(self._c.scatter, self._c, value, broadcast or false)
  if not ok then error("scatter: " .. tostring(h), 2) end
  return h
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
