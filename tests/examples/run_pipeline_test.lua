-- js:run and js:pipeline from Lua (run by `ppclient run`, on the embedded node's real
-- workers): run reaching each worker once by its worker id, a failing worker's error
-- collected, `nodes` narrowing and an unknown node named; a pipeline's ordered and
-- unordered output, dropped items, a stage error in both on_error modes, the slow
-- stage's share of the workers, and pl:stats().
local pp = require "pp"
local ffi = require "ffi"
ffi.cdef "int getpid(void);"

local function check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end
local function range(n)
  local t = {}
  for k = 1, n do t[k] = k end
  return t
end

local WORKERS = 4
local js = pp.server{ ncpus = WORKERS }
js:wait_for_workers(WORKERS)

-- js:run ---------------------------------------------------------------------------
local function pid_of_worker(bad)
  local ffi = require "ffi"
  pcall(ffi.cdef, "int getpid(void);")
  local pid = ffi.C.getpid()
  if pid == bad then error("worker " .. pid .. " refuses") end
  return pid
end

local pids = js:run(pid_of_worker, { -1 })
local ids, distinct = {}, {}
for id, pid in pairs(pids) do
  ids[#ids + 1] = id
  distinct[pid] = true
  check(id:find("^.+:%d+#%d+$"), "a worker id is host:port#k: " .. id)
end
table.sort(ids)
check(#ids == WORKERS, "one result per worker: " .. #ids)
local n = 0
for _ in pairs(distinct) do n = n + 1 end
check(n == WORKERS, "each worker ran it, in its own process: " .. n)
local node = ids[1]:match("^(.+)#%d+$")
for k = 1, WORKERS do check(pids[node .. "#" .. k], "worker " .. k .. " is there") end

-- The keys are the jobs' own worker.id, and worker.state persists from one run to the next
-- (preparing each worker once).
for id, own in pairs(js:run(function() return worker.id end)) do
  check(id == own, "the key is the worker's own worker.id: " .. id .. " vs " .. tostring(own))
end
local function warm() worker.state.warm = (worker.state.warm or 0) + 1 return worker.state.warm end
js:run(warm)
for id, times in pairs(js:run(warm)) do check(times == 2, id .. " warmed twice: " .. times) end

local bad = pids[ids[2]]
local ok, err = pcall(js.run, js, pid_of_worker, { bad })
check(not ok and getmetatable(err) == pp.RemoteError, "a failed worker raises a pp.RemoteError")
check(tostring(err):find("1 of " .. WORKERS .. " workers failed", 1, true), tostring(err))
local failed = 0
for id, e in pairs(err.errors) do
  failed = failed + 1
  check(id == ids[2], "the failed worker's id: " .. id)
  check(e.kind == "lua error" and e.message:find("refuses"), "its own error: " .. tostring(e))
end
check(failed == 1, "one error")
local kept = 0
for id, pid in pairs(err.results) do
  kept = kept + 1
  check(pids[id] == pid, "the others' results are kept")
end
check(kept == WORKERS - 1, "the others' results: " .. kept)

local on_local = 0
for _ in pairs(js:run(pid_of_worker, { -1 }, { nodes = { "local" } })) do on_local = on_local + 1 end
check(on_local == WORKERS, "nodes = {\"local\"}: " .. on_local)
check(next(js:run(pid_of_worker, { -1 }, { nodes = { node } })) ~= nil, "nodes by the node's own name")
ok, err = pcall(js.run, js, pid_of_worker, { -1 }, { nodes = { "10.9.9.9:1" } })
check(not ok and tostring(err):find("nodes[1] = 10.9.9.9:1 is not a connected node", 1, true),
  tostring(err))
ok, err = pcall(js.run, js, pid_of_worker, nil, { node = "x" })
check(not ok and tostring(err):find("node", 1, true), "unknown option: " .. tostring(err))

-- js:pipeline ------------------------------------------------------------------------
local function add_one(x) return x + 1 end
local function double_unless_tenth(x)
  if x % 10 == 0 then return nil end   -- dropped
  return x * 2
end
local function minus_one(x) return x - 1 end

local function expected_outputs(count)
  local out = {}
  for i = 1, count do
    local x = i + 1
    if x % 10 ~= 0 then out[#out + 1] = { x * 2 - 1, i } end
  end
  return out
end

local pl = js:pipeline{ add_one, { fn = double_unless_tenth, name = "double" }, minus_one }
local got = {}
for out, i in pl:map(range(200), { window = 16 }) do
  got[#got + 1] = { out, i }
end
local want = expected_outputs(200)
check(#got == #want, "ordered: every item not dropped: " .. #got .. " vs " .. #want)
for k = 1, #want do
  check(got[k][1] == want[k][1] and got[k][2] == want[k][2], "ordered: in input order at " .. k)
end
local st = pl:stats()
check(st.items == 200 and st.dropped == 20 and st.failed == 0, "stats count items: " ..
  st.items .. " " .. st.dropped .. " " .. st.failed)
check(#st.stages == 3 and st.stages[2].name == "double" and st.stages[2].runs == 200,
  "stats per stage")
-- Per stage, as the report counts them: the second drops every tenth item.
check(st.stages[1].items_in == 200 and st.stages[1].items_out == 200 and
  st.stages[2].items_in == 200 and st.stages[2].dropped == 20 and
  st.stages[2].items_out == 180 and st.stages[3].items_in == 180 and
  st.stages[3].dropped == 0 and st.stages[3].items_out == 180,
  "stats: items in, out and dropped per stage")
local rep = js:report()
check(rep:find('"pipelines": [', 1, true) and rep:find('"name": "double", "items_in": 200', 1, true),
  "the report lists the pipeline's stages")

-- Unordered: the first item is slow, so it comes last; an iterator function as input.
local function slow_first(x)
  if x == 1 then
    local ffi = require "ffi"
    pcall(ffi.cdef, "int usleep(unsigned int usec);")
    ffi.C.usleep(300000)
  end
  return x
end
local i = 0
local function count_to_40() i = i + 1; if i <= 40 then return i end end
local pl2 = js:pipeline{ slow_first, minus_one }
local order = {}
for out, idx in pl2:map(count_to_40, { ordered = false, window = 8 }) do
  check(out == idx - 1, "unordered: each output with its input's position")
  order[#order + 1] = idx
end
check(#order == 40, "unordered: all 40 came: " .. #order)
check(order[1] ~= 1 and order[#order] == 1, "unordered: the slow first item came last, got " ..
  tostring(order[1]) .. " first")

-- A stage error: by default the item's place holds the error, the others go on.
local function fails_on_5(x)
  if x == 5 then error("five is not allowed") end
  return x
end
local pl3 = js:pipeline{ add_one, { fn = fails_on_5, name = "picky" }, minus_one }
local outs, errs = {}, {}
for out, idx in pl3:map({ 1, 2, 3, 4, 5, 6, 7, 8 }, { window = 3 }) do
  if getmetatable(out) == pp.RemoteError then errs[#errs + 1] = out else outs[#outs + 1] = out end
end
check(#outs == 7 and #errs == 1, "one failed item, seven outputs")
check(errs[1].stage == 2 and errs[1].item == 4 and errs[1].stage_name == "picky",
  "the failed stage and item are named")
check(tostring(errs[1]):find("stage 2 (picky) of item 4: ", 1, true) and
  tostring(errs[1]):find("five is not allowed", 1, true), tostring(errs[1]))
check(pl3:stats().failed == 1, "stats count the failure")

-- on_error = "stop": the loop raises, the rest is cancelled.
local seen = 0
ok, err = pcall(function()
  for _ in pl3:map({ 1, 2, 3, 4, 5, 6, 7, 8 }, { on_error = "stop", window = 2 }) do
    seen = seen + 1
  end
end)
check(not ok and getmetatable(err) == pp.RemoteError and err.stage == 2,
  "on_error = stop raises the stage's error: " .. tostring(err))
check(seen == 3, "on_error = stop: the items before it came: " .. seen)
ok, err = pcall(function() pl3:map({ 1 }, { on_error = "skip" }) end)
check(not ok and tostring(err):find("on_error must be", 1, true), tostring(err))
local function sq(x) return x * x end
local function uses_sq(x) return sq(x) end
ok, err = pcall(function() js:pipeline{ add_one, uses_sq } end)
check(not ok and tostring(err):find("stage 2 (", 1, true) and
  tostring(err):find("the stage function (defined at", 1, true), tostring(err))
local pl6 = js:pipeline{ add_one, { fn = uses_sq, depfuncs = { sq } } }
local squares = {}
for out in pl6:map({ 1, 2, 3 }) do squares[#squares + 1] = out end
check(#squares == 3 and squares[3] == 16, "a later stage with depfuncs")
ok, err = pcall(function() js:pipeline{ add_one, 7 } end)
check(not ok and tostring(err):find("stage 2 must be a function", 1, true), tostring(err))

-- Balancing: the slow middle stage (30 ms, no CPU) takes most of the workers, the fast
-- ones little, as their times per item say.
local function nap(x)
  local ffi = require "ffi"
  pcall(ffi.cdef, "int usleep(unsigned int usec);")
  ffi.C.usleep(30000)
  return x
end
local pl4 = js:pipeline{ add_one, nap, minus_one }
local items = 0
for _ in pl4:map(range(120), { window = 4 * WORKERS }) do
  items = items + 1
end
check(items == 120, "balancing: all items")
local s = pl4:stats()
print(string.format("balancing: %.1f items/s; workers per stage %.2f %.2f %.2f; s/item %.4f %.4f %.4f",
  s.items_per_second, s.stages[1].workers, s.stages[2].workers, s.stages[3].workers,
  s.stages[1].seconds_per_item, s.stages[2].seconds_per_item, s.stages[3].seconds_per_item))
check(s.stages[2].seconds_per_item > 10 * s.stages[1].seconds_per_item,
  "stage times: the middle one is the slow one")
check(s.stages[2].workers > WORKERS / 2, "the slow stage kept more than half the workers busy: " ..
  s.stages[2].workers)
check(s.stages[1].workers < 1 and s.stages[3].workers < 1, "the fast stages kept under one")
-- Against one item at a time (window 1): the slow stage never has more than one worker,
-- so the figure above is the balancing's doing.
local pl5 = js:pipeline{ add_one, nap, minus_one }
for _ in pl5:map(range(12), { window = 1 }) do end
check(pl5:stats().stages[2].workers <= 1.05, "window 1: one worker at most: " ..
  pl5:stats().stages[2].workers)

js:destroy()
print("run and pipeline: all ok")
