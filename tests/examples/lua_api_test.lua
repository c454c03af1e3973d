-- The Lua driver API as a user meets it (run by `ppclient run`): results,
-- remote errors with node and traceback, refusal of upvalues, depfuncs,
-- modules, callbacks, map, wait, stats.
local pp = require "pp"

local function check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end

-- The library declares no C function in the shared ffi.C namespace: a script's own
-- declaration of a common one (as every FFI timing helper has) must not clash with it.
local ffi = require "ffi"
local declared, why = pcall(ffi.cdef, [[
  struct pp_api_test_ts { long s; long ns; };
  int clock_gettime(int clk, struct pp_api_test_ts* ts);
]])
check(declared, "a script's own ffi.cdef of clock_gettime: " .. tostring(why))
-- (LuaJIT keeps the first declaration of a name: a clash shows only at the call.)
local ts = ffi.new("struct pp_api_test_ts")
local called, err = pcall(function() return ffi.C.clock_gettime(1, ts) end)
check(called and ts.s > 0, "calling the script's own clock_gettime: " .. tostring(err))

local js = pp.server{ ncpus = 2 }
check(js:get_ncpus() >= 0, "get_ncpus")

local function square(x) return x * x end
local jobs = {}
for i = 1, 200 do jobs[i] = js:submit(square, { i }) end
for i = 1, 200 do check(jobs[i]() == i * i, "result " .. i) end
check(jobs[1].node == "local", "job.node names the node that ran it")

-- the local workers run at the driver's own priority (field 19 of /proc/PID/stat), not
-- niced as a guest node's are
local function niceness()
  local f = assert(io.open("/proc/self/stat"))
  local stat = f:read("*a")
  f:close()
  local fields = {}
  for field in stat:match("%) (.*)"):gmatch("%S+") do fields[#fields + 1] = field end
  return tonumber(fields[17])   -- fields from 3 (state) on: 19 is the 17th
end
local own = niceness()
local theirs = js:submit(niceness)()
check(theirs == own, "local workers at the driver's niceness " .. own .. ", not " .. theirs)

-- several return values, nil in the middle, tables
local function multi(a) return a, nil, { k = a, list = { 1, 2, 3 } } end
local a, b, c = js:submit(multi, { "x" })()
check(a == "x" and b == nil and c.k == "x" and #c.list == 3, "multiple returns")

-- every kind of outcome, kept in the job: called again, it gives the same
local function none() end
local function one(x) return x end
local kinds = { js:submit(none), js:submit(one, { nil, n = 1 }), js:submit(one, { false }),
                js:submit(one, { true }), js:submit(one, { 2.5 }), js:submit(one, { "s" }),
                js:submit(one, { { 1, k = 2 } }) }
for round = 1, 2 do
  check(select("#", kinds[1]()) == 0, "no value")
  check(select("#", kinds[2]()) == 1 and kinds[2]() == nil, "one nil")
  check(kinds[3]() == false and kinds[4]() == true and kinds[5]() == 2.5, "boolean and number")
  check(kinds[6]() == "s" and kinds[7]().k == 2 and kinds[7]()[1] == 1, "string and table")
  for i, job in ipairs(kinds) do
    check(job:done() and job.node == "local", "done and node of kind " .. i .. ", round " .. round)
    check(job.id == kinds[1].id + i - 1, "ids of kind " .. i)
  end
end
check(kinds[7]() == kinds[7](), "a table result is the same table each time")
local pending = js:submit(one, { 1 })
check(pending.node == nil and type(pending.id) == "number", "no node before the result")
check(pending:result() == 1 and pending.node == "local", "node after the result")
check(kinds[1].nope == nil, "unknown fields are nil")

-- remote errors carry message, node, job and traceback
local function failing(x) error("no good: " .. x) end
local ok, err = pcall(function() return js:submit(failing, { 7 })() end)
check(not ok and getmetatable(err) == pp.RemoteError, "remote error object")
check(err.message:find("no good: 7", 1, true) ~= nil, "error message")
check(err.node == "local", "error node")
check(err.traceback:find("stack traceback", 1, true) ~= nil, "traceback")
check(tostring(err):find("job " .. err.job, 1, true) ~= nil, "error text names the job")
local failed = js:submit(failing, { 8 })
local v, e2 = failed:result()
check(v == nil and e2.kind == "lua error", "result() returns nil, err")
local v2, e3 = failed:result()
check(v2 == nil and e3 == e2 and failed.node == "local", "the same error again, and its node")
local ok4, e4 = pcall(failed)
check(not ok4 and e4 == e2 and getmetatable(e4) == pp.RemoteError, "job() raises the same error")
local raised, raised_err = js:submit(function() error({ code = 42 }) end):result()
check(raised == nil and raised_err.value.code == 42, "a raised value travels")

-- upvalues are refused with advice
local captured = 3
local ok2, msg = pcall(function() js:submit(function() return captured end) end)
check(not ok2 and msg:find("upvalue 'captured'", 1, true) and msg:find("argument", 1, true),
  "upvalue refusal")

-- depfuncs (named) and modules
local function helper(x) return x + 100 end
check(js:submit(function(x) return helper(x) end, { 1 }, { helper = helper })() == 101, "depfuncs")
local function use_native(n) return native.count_primes(0, n) end
check(js:submit(use_native, { 100 }, nil, { "pp.native" })() == 25, "modules")
-- a local module or helper captured as an upvalue is rebound on the node
local kern = require "pp.native"
local function twice(x) return 2 * x end
local function local_refs(n) return twice(kern.count_primes(0, n)) end
check(js:submit(local_refs, { 100 }, { twice = twice }, { kern = "pp.native" })() == 50,
  "upvalues bound to depfuncs and modules")

-- arguments that cannot travel
local ok3, msg3 = pcall(function() js:submit(square, { function() end }) end)
check(not ok3 and msg3:find("cannot send a function", 1, true), "function argument refused")

-- callbacks run by wait(); map keeps order
local seen = {}
for i = 1, 5 do js:submit(square, { i }, nil, nil, function(r) seen[#seen + 1] = r end) end
js:wait()
check(#seen == 5 and seen[5] == 25, "callbacks")
local ys = js:map(square, { 1, 2, 3 })
check(ys[1] == 1 and ys[2] == 4 and ys[3] == 9, "map")

local stats = js:get_stats()
check(#stats == 1 and stats[1].node == "local" and stats[1].jobs >= 210, "stats")
check(js:get_active_nodes()["local"] == 2, "active nodes")
js:print_stats()

-- the contribution report: JSON in memory, files by extension, a clear error otherwise
local json = js:report()
check(type(json) == "string" and json:find('"format": *"ppcluster%-report"') and json:find('"local"', 1, true), "report json")
local tmp = os.tmpname()
check(js:report(tmp .. ".html") == true, "report html written")
local f = assert(io.open(tmp .. ".html"))
local html = f:read("*a")
f:close()
check(html:find("<svg", 1, true) and html:find("local", 1, true), "report html content")
os.remove(tmp .. ".html")
os.remove(tmp)
local okw, errw = js:report("/nonexistent-dir/x/report.json")
check(okw == nil and type(errw) == "string" and errw:find("nonexistent-dir", 1, true), "report error: " .. tostring(errw))
-- job objects dropped without being called: once collected, the driver keeps nothing
-- of them (their results included); ones still held stay, and give their result
collectgarbage()
collectgarbage()
local held_before = js._c:held()
local kept = {}
for round = 1, 10 do
  for i = 1, 300 do js:submit(square, { i }) end
  kept[round] = js:submit(square, { round })
  js:wait()
  collectgarbage()
  collectgarbage()
end
check(js._c:held() == held_before + #kept, "dropped jobs are forgotten: held " .. js._c:held() ..
  ", expected " .. held_before + #kept)
for round = 1, #kept do check(kept[round]() == round * round, "a kept job still answers") end
check(js._c:held() == held_before, "jobs called are forgotten")

js:destroy()
print("lua api: all ok")
