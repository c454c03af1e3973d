-- Dependencies between jobs (run by `ppclient run`, on its embedded node): job objects
-- as arguments at any depth, chains, failed inputs failing their dependents with kind
-- "dependency", jobs already finished, `after` ordering, jobs of another cluster
-- refused, and a 10,000-leaf tree submitted whole while its leaves cannot start.
local pp = require "pp"
local core = require "pp.core"

local function check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end

local js = pp.server{ ncpus = 2 }

local function sq(x) return x * x end
local function add1(x) return x + 1 end
local function double(x) return 2 * x end

-- A three-level chain.
local a = js:submit(sq, { 3 })
local b = js:submit(add1, { a })
local c = js:submit(double, { b })
check(c() == 20 and b() == 10 and a() == 9, "chain")

-- References nested in tables, and the same job twice.
local p, q = js:submit(sq, { 2 }), js:submit(sq, { 5 })
local function nested(t) return t.x + t.list[1] + t.list[2].y + t.again end
local r = js:submit(nested, { { x = p, list = { q, { y = p } }, again = q } })
check(r() == 4 + 25 + 4 + 25, "nested references")

-- A job that returned nothing gives nil; only the first of several values is passed.
local none = js:submit(function() end)
local several = js:submit(function() return 7, 8 end)
local function show(v, w) return tostring(v) .. "," .. tostring(w) end
check(js:submit(show, { none, several, n = 2 })() == "nil,7", "nothing is nil, first value")

-- Failed input: its dependents fail at once with kind "dependency", and theirs too.
local bad = js:submit(function() error("boom") end)
local d1 = js:submit(add1, { bad })
local d2 = js:submit(add1, { { d1 } })
local _, e1 = d1:result()
local _, e2 = d2:result()
check(e1 and e1.kind == "dependency", "kind of a failed input's dependent: " .. tostring(e1))
check(e1.message:find("input job " .. bad.id .. " failed (lua error)", 1, true) and
      e1.message:find("boom", 1, true), "the message names the input and its error: " .. e1.message)
check(e2 and e2.kind == "dependency" and
      e2.message:find("input job " .. d1.id .. " failed (dependency)", 1, true) and
      e2.message:find("boom", 1, true), "transitive: " .. tostring(e2 and e2.message))
check(getmetatable(e1) == pp.RemoteError and tostring(e1):find("(dependency)", 1, true),
      "a RemoteError")

-- Inputs whose results the script already took: numbers, tables, failures.
local x = js:submit(sq, { 4 })
check(x() == 16, "x")
check(js:submit(add1, { x })() == 17, "a settled number")
local t = js:submit(function() return { 1, 2, k = "v" }, "second" end)
check(t().k == "v", "t")
check(js:submit(function(v) return #v .. v.k end, { t })() == "2v", "a settled table")
check(not pcall(bad), "bad raises")
local _, e3 = js:submit(add1, { bad }):result()
check(e3 and e3.kind == "dependency" and e3.message:find("boom", 1, true),
      "a settled failure fails its dependent: " .. tostring(e3))

-- after = {jobs}: the job starts once they end (checked by a file the slow job writes
-- last), and gets no value from them.
local dir = os.tmpname()
os.remove(dir)
local function slow(path)
  local t0 = os.clock()
  while os.clock() - t0 < 0.3 do end
  local f = assert(io.open(path, "w"))
  f:write("done")
  f:close()
  return "slow"
end
local function saw(path, ...)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil, select("#", ...)
end
local marker = dir .. ".marker"
local s = js:submit(slow, { marker })
local later = js:submit{ saw, { marker }, after = { s } }
local seen, extra = later()
os.remove(marker)
check(seen == true and extra == 0, "after: the job started after the slow one ended")
local failed_after = js:submit{ saw, { marker }, after = { d1 } }
local _, e4 = failed_after:result()
check(e4 and e4.kind == "dependency", "after a failed job")
local bad_ok, bad_err = pcall(js.submit, js, { saw, { marker }, after = { "not a job" } })
check(not bad_ok and tostring(bad_err):find("not a job", 1, true), "after must hold jobs")

-- A job of another cluster is refused, as an argument and in after.
local other = pp.server{ ncpus = 1 }
local foreign = other:submit(function(v) return v end, { 1 })
local ok, err = pcall(js.submit, js, add1, { { foreign } })
check(not ok and tostring(err):find("another cluster", 1, true) and
      tostring(err):find("argument 1, at [1]", 1, true), "another cluster's job: " .. tostring(err))
local ok2, err2 = pcall(js.submit, js, { saw, { marker }, after = { foreign } })
check(not ok2 and tostring(err2):find("another cluster", 1, true),
      "another cluster's job in after: " .. tostring(err2))
check(foreign() == 1, "the foreign job itself")
other:destroy()

-- A tree of 10,000 leaves submitted whole while no leaf can start: each leaf takes a
-- gate job that ends only once the driver creates a file, after the last submit. A
-- driver that blocked on any input would never get there (the gate would time out).
local gate_file = dir .. ".gate"
local function gate(path)
  local t0 = os.time()
  while true do
    local f = io.open(path)
    if f then f:close() return 0 end
    if os.time() - t0 > 120 then error("the gate was never opened") end
    if os.execute then os.execute("sleep 0.02") end
  end
end
local g = js:submit(gate, { gate_file })
local function leaf(zero, i) return zero + i * i end
local function add(u, v) return u + v end
local level, n, count = {}, 10000, 1
for i = 1, n do level[i] = js:submit(leaf, { g, i }) end
count = count + n
while #level > 1 do
  local up = {}
  for i = 1, #level - 1, 2 do up[#up + 1] = js:submit(add, { level[i], level[i + 1] }) end
  count = count + math.floor(#level / 2)
  if #level % 2 == 1 then up[#up + 1] = level[#level] end
  level = up
end
check(not g:done() and not level[1]:done(), "nothing could run before the gate opened")
io.open(gate_file, "w"):close()
local total = level[1]()
os.remove(gate_file)
check(total == n * (n + 1) * (2 * n + 1) / 6, "tree sum " .. tostring(total))
check(count == 20000, "jobs in the tree " .. count)

print("dependencies: all ok")
