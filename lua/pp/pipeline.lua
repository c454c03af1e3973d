-- pp.pipeline: stages over a stream of items, a thin layer over the futures.
--
--   local pl = js:pipeline{ generate, { fn = square, depfuncs = {helper} }, subtract }
--   for out, i in pl:map(io.lines("input.txt"), { ordered = true, window = 1000 }) do
--     print(i, out)
--   end
--   print(pl:stats().items_per_second)
--
-- Every item becomes one job per stage, submitted together: stage k + 1 gets stage k's job
-- as its argument (a dependency: held by the driver until stage k is done, then sent with
-- that job's first return value). That value stays on the node that made it (a kept
-- result): stage k + 1 prefers that node, and only when it runs elsewhere does the value
-- travel, once, through the driver. A stage that returns nil drops the item: the later
-- stages pass the nil on without calling their function, and the loop never sees it.
--
-- At most `window` items are in flight (default 1000): the next items are read from
-- `input` only as earlier ones finish, so the driver's memory is bounded whatever the
-- input's length (an iterator function may be endless; the loop then ends with a
-- `break`, and pl:cancel() stops what is still in flight). With `ordered = true` (the
-- default) outputs come in input order, else as they finish.
--
-- Balancing: the jobs of all stages of the items in flight share the workers, and a
-- stage's job is ready as soon as its input is, so the slow stage's jobs pile up and
-- take the workers the fast stages leave: in steady state each stage holds a share of
-- the workers proportional to its time per item (Little's law), which pl:stats() shows
-- (`workers` per stage). A window of a few items per worker is enough for that.
--
-- Figures: the pipeline's jobs carry its id and their stage, and the cluster's live
-- figures count them as they are submitted and end; pl:stats(), the dashboard and the
-- contribution report all read those counts (nothing is counted here).
--
-- A failed stage fails its item: by default the loop gets, in the item's place, a
-- pp.RemoteError (getmetatable(out) == pp.RemoteError) whose message names the stage
-- and the item, with fields `stage` (its position), `stage_name` and `item` (the input's
-- position); the pipeline goes on. With `on_error = "stop"`, the first failure cancels
-- the items in flight and the loop raises that error.
local code = require "pp.code"
local options = require "pp.options"
local pjob = require "pp.job"

local type, ipairs, error, tostring, tonumber, setmetatable, pairs =
  type, ipairs, error, tostring, tonumber, setmetatable, pairs
local string_format = string.format
local math_max, math_floor = math.max, math.floor
local RemoteError = pjob.RemoteError

local M = {}

local Pipeline = {}
Pipeline.__index = Pipeline

local STAGE_KEYS = options.names{ "fn", "depfuncs", "modules", "name", "timeout" }
local MAP_OPTIONS = options.names{ "ordered", "window", "on_error" }
local DEFAULT_WINDOW = 1000

-- Stage k > 1 runs this, its function bound as a dependency: nil in is nil out.
local function pass_on(v)
  if v == nil then return nil end
  return __pp_stage(v)   -- luacheck: ignore (bound on the node: a dependency function)
end

-- One stage, checked, with the code blob its jobs share.
local function make_stage(spec, k)
  local where = string_format("pipeline: stage %d", k)
  if type(spec) == "function" then spec = { fn = spec } end
  if type(spec) ~= "table" then
    error(string_format("%s must be a function or {fn = f, depfuncs = ..., modules = ...}, got %s",
      where, type(spec)), 3)
  end
  options.check(spec, STAGE_KEYS, where .. " {...}", 3)
  if type(spec.fn) ~= "function" then
    error(string_format("%s: fn must be a function, got %s", where, type(spec.fn)), 3)
  end
  local name = spec.name or code.describe(spec.fn)
  local blob, err
  if k == 1 then
    blob, err = code.blob(spec.fn, spec.depfuncs, spec.modules)
  else
    local deps = {}
    for key, f in pairs(spec.depfuncs or {}) do deps[key] = f end
    if type(spec.depfuncs) ~= "nil" and type(spec.depfuncs) ~= "table" then
      error(where .. ": depfuncs must be a table of functions, got " .. type(spec.depfuncs), 3)
    end
    deps.__pp_stage = spec.fn
    blob, err = code.blob(pass_on, deps, spec.modules)
  end
  if not blob then
    err = err:gsub("dependency '__pp_stage'", "the stage function", 1)
    error(string_format("%s (%s): %s", where, name, err), 3)
  end
  local timeout = options.seconds(spec.timeout, where .. ": timeout", 3)
  return { blob = blob, name = name, timeout = timeout }
end

-- js:pipeline{ stage, ... } -> a pipeline; a stage is a function or
-- { fn = f, depfuncs = ..., modules = ..., name = "label", timeout = s }.
function M.pipeline(server, stages)
  if type(stages) ~= "table" or #stages == 0 then
    error("pipeline: expected a list of stages ({f1, f2, ...}), got " ..
      (type(stages) == "table" and "an empty table" or type(stages)), 2)
  end
  local list, names = {}, {}
  for k = 1, #stages do
    list[k] = make_stage(stages[k], k)
    names[k] = list[k].name
  end
  local id = server._c:add_pipeline(names)
  -- Every stage but the last keeps its result on the node that made it: only the next
  -- stage's job takes it, and it prefers that node (a value moves at most once).
  for k, st in ipairs(list) do
    local keep = k < #list or nil
    st.opts = { timeout = st.timeout, intermediate = keep, pipeline = id, stage = k }
  end
  return setmetatable({ _server = server, _stages = list, _id = id, _inflight = nil }, Pipeline)
end

-- The next item of `input` (a list or an iterator function), or nil at its end.
local function reader(input)
  if type(input) == "function" then return input end
  if type(input) ~= "table" then
    error("map: input must be a list or an iterator function, got " .. type(input), 3)
  end
  local i, n = 0, input.n or #input
  return function()
    if i >= n then return nil end
    i = i + 1
    return input[i]
  end
end

-- Submits every stage of one item; returns its record.
local function launch(self, item, index)
  local server, c = self._server, self._server._c
  local jobs, prev = {}, nil
  for k, st in ipairs(self._stages) do
    local job, err = c:submit(st.blob, k == 1 and { item } or { prev }, server, st.opts)
    if not job then error(string_format("map: item %d, stage %d: %s", index, k, err), 3) end
    jobs[k] = job
    prev = job
  end
  return { index = index, jobs = jobs }
end

-- A finished item's output, or nil and its error.
local function conclude(self, rec)
  local stages, failure = self._stages, nil
  for k, job in ipairs(rec.jobs) do
    -- An earlier stage's value stayed on its node: only its status is read here.
    local value, err
    local finished = job:status() == "finished"
    if k == #rec.jobs or not finished then value, err = job:result() end
    if finished then
      if k == #rec.jobs then return value end
    else
      failure = { k = k, err = err }
      break
    end
  end
  local st, e = stages[failure.k], failure.err
  local message = string_format("stage %d (%s) of item %d: %s", failure.k, st.name, rec.index,
    type(e) == "table" and tostring(e.message) or tostring(e))
  local out = { stage = failure.k, stage_name = st.name, item = rec.index, message = message }
  if type(e) == "table" then
    for key in pairs{ job = 1, node = 1, kind = 1, traceback = 1, value = 1 } do
      out[key] = e[key]
    end
  end
  return nil, setmetatable(out, RemoteError)
end

local function cancel_all(self, recs)
  local c = self._server._c
  for _, rec in pairs(recs) do
    for _, job in ipairs(rec.jobs) do c:cancel(job) end
  end
end

-- The state of one pl:map run: the input, the items in flight (by sequence; by last
-- job for the unordered watch), and how the loop handles failures.
local function new_run(self, input, opts)
  local window = opts.window or DEFAULT_WINDOW
  if type(window) ~= "number" or window < 1 or window ~= math_floor(window) then
    error("map: window must be a whole number >= 1, got " .. tostring(window), 3)
  end
  local on_error = opts.on_error or "item"
  if on_error ~= "item" and on_error ~= "stop" then
    error("map: on_error must be \"item\" or \"stop\", got " .. tostring(on_error), 3)
  end
  if opts.ordered ~= nil and type(opts.ordered) ~= "boolean" then
    error("map: ordered must be true or false, got " .. type(opts.ordered), 3)
  end
  return { next_input = reader(input), ended = false, read = 0, window = window,
           ordered = opts.ordered ~= false, stop = on_error == "stop",
           queue = {}, head = 1, tail = 0,      -- ordered: records by sequence
           by_last = {}, count = 0, watch = nil } -- unordered: records by their last job
end

-- Reads and launches items until `target` are in flight or the input ends; true when
-- any was launched.
local function top_up(self, run, target)
  local launched = false
  while not run.ended and run.count < target do
    local item = run.next_input()
    if item == nil then
      run.ended = true
    else
      run.read = run.read + 1
      local rec = launch(self, item, run.read)
      run.count = run.count + 1
      launched = true
      if run.ordered then
        run.tail = run.tail + 1
        run.queue[run.tail] = rec
      else
        run.by_last[rec.jobs[#rec.jobs]] = rec
      end
    end
  end
  return launched
end

-- The next finished record in input order, or nil when none is left.
local function next_ordered(self, run)
  top_up(self, run, run.window)
  local rec = run.queue[run.head]
  if rec == nil then return nil end
  rec.jobs[#rec.jobs]:result()   -- waits for the last stage (the others are done then)
  run.queue[run.head] = nil
  run.head = run.head + 1
  run.count = run.count - 1
  return rec
end

-- The next finished record in finishing order, or nil when none is left. The watch over
-- the items in flight is made again only once a quarter of the window was refilled, so
-- each item costs a few watch entries, not a window's worth.
local function next_unordered(self, run)
  local refill_below = run.window - math_max(1, math_floor(run.window / 4))
  if run.watch == nil or (run.count <= refill_below and not run.ended) then
    local launched = top_up(self, run, run.window)
    if launched or run.watch == nil then
      if run.watch then run.watch:close() end
      local lasts = {}
      for last in pairs(run.by_last) do lasts[#lasts + 1] = last end
      if #lasts == 0 then return nil end
      run.watch = self._server._c:watch(lasts)
    end
  end
  local last = run.watch:next()
  if last == nil then
    run.watch:close()
    run.watch = nil
    if run.ended and run.count == 0 then return nil end
    return next_unordered(self, run)
  end
  local rec = run.by_last[last]
  run.by_last[last] = nil
  run.count = run.count - 1
  return rec
end

-- for out, i in pl:map(input [, { ordered = true, window = 1000, on_error = "item" }]):
-- each output with its input's position (1-based); see the top of this file.
function Pipeline:map(input, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("map: options must be a table, got " .. type(opts), 2) end
  options.check(opts, MAP_OPTIONS, "pl:map(input, {...})", 2)
  local run = new_run(self, input, opts)
  self._inflight = run
  local take = run.ordered and next_ordered or next_unordered
  return function()
    while true do
      local rec = take(self, run)
      if rec == nil then return nil end
      local value, err = conclude(self, rec)
      if err then
        if run.stop then
          cancel_all(self, run.ordered and run.queue or run.by_last)
          if run.watch then run.watch:close() end
          run.ended, run.count = true, 0
          run.queue, run.by_last = {}, {}
          error(err, 2)
        end
        return err, rec.index
      end
      if value ~= nil then return value, rec.index end
    end
  end
end

-- pl:cancel(): stops the items still in flight of the last map (after a `break` out of
-- an endless stream); returns how many items it stopped.
function Pipeline:cancel()
  local run = self._inflight
  if not run then return 0 end
  local n = run.count
  cancel_all(self, run.ordered and run.queue or run.by_last)
  if run.watch then run.watch:close() end
  run.queue, run.by_last, run.count, run.ended, run.watch = {}, {}, 0, true, nil
  return n
end

-- pl:stats() -> { items = n, dropped = n, failed = n, seconds = s, items_per_second = r,
--   stages = { { name = ..., items_in = n, items_out = n, dropped = n, failed = n,
--                runs = n, items_per_second = r, seconds_per_item = s, workers = w }, ... } }
-- Items: those that came out of the last stage (values, dropped or failed). `seconds`:
-- the pipeline's first job submitted to its last job ended. Per stage: items that
-- reached it, that it passed on, dropped (returned nil) and failed itself; its jobs'
-- mean run time; `workers`: how many workers it kept busy on average (its run time
-- over the pipeline's wall time), the share balancing gave it. The same figures as the
-- contribution report's and the dashboard's (the cluster's live figures count them).
function Pipeline:stats()
  local f = self._server._c:pipeline_stats(self._id)
  local wall = f.wall_seconds
  local out = { items = f.items, dropped = f.dropped, failed = f.failed, seconds = wall,
                items_per_second = wall > 0 and f.items / wall or 0, stages = {} }
  for k, st in ipairs(f.stages) do
    out.stages[k] = { name = self._stages[k].name, items_in = st.items_in,
                      items_out = st.items_out, dropped = st.dropped, failed = st.failed,
                      runs = st.runs, items_per_second = st.items_per_second,
                      seconds_per_item = st.seconds_per_item, workers = st.workers }
  end
  return out
end

M.Pipeline = Pipeline
return M
