-- Scattered values and the `worker` table from Lua (run by `ppclient run`, on the
-- embedded node's real worker): a handle anywhere in a job's args becomes the value,
-- the one decoded value is shared by the jobs of this script on a worker (changes
-- included), worker.state lasts between jobs, a released handle is refused as an
-- argument, and misuse of scatter is an error naming what is wrong.
local pp = require "pp"

local function check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end
local function fails(f, pattern, what)
  local ok, msg = pcall(f)
  check(not ok, what .. ": no error")
  check(tostring(msg):find(pattern, 1, true), what .. ": " .. tostring(msg))
end

local js = pp.server{ ncpus = 1 }
js:wait_for_workers(1)

local t = {}
for i = 1, 100000 do t[i] = i * 2 end
t.name = "grid"
local h = js:scatter(t)
check(h:size() > 100000, "size " .. tostring(h:size()))
check(tostring(h):find("scattered value of", 1, true), tostring(h))

local function read(v, i) return v[i], v.name, #v end
local a, name, n = js:submit(read, { h, 7 })()
check(a == 14 and name == "grid" and n == 100000, "value: " .. tostring(a) .. " " .. tostring(name))
-- At any depth of the arguments, several times.
local function deep(x) return x.inner[1][3] + x.again[5] end
check(js:submit(deep, { { inner = { h }, again = h } })() == 16, "nested handles")

-- One decoded value per worker for this script: a change is seen by the next job.
local function bump(v) v.count = (v.count or 0) + 1 return v.count end
check(js:submit(bump, { h })() == 1, "first bump")
check(js:submit(bump, { h })() == 2, "second bump sees the first")

-- Scattering the same content again is the same value on the node.
local h2 = js:scatter(t)
check(h2:size() == h:size(), "same size")

-- worker.state and worker.id
local function count_state()
  worker.state.n = (worker.state.n or 0) + 1
  return worker.state.n, worker.id, worker.node
end
local c1 = js:submit(count_state)()
local c2, id, node = js:submit(count_state)()
check(c2 == c1 + 1, "worker.state lasts: " .. c1 .. " then " .. c2)
check(id == node .. "#1", "worker.id " .. tostring(id) .. " on " .. tostring(node))

-- Broadcast, then release: a released handle is no argument any more.
local b = js:scatter({ 1, 2, 3 }, { broadcast = true })
check(js:submit(function(v) return #v end, { b })() == 3, "broadcast value")
b:release()
check(b:size() == nil, "released size")
fails(function() js:submit(function(v) return v end, { b }) end, "released scattered value",
  "released handle")

-- Misuse
fails(function() js:scatter(t, 5) end, "options must be a table", "bad options")
fails(function() js:scatter(t, { broadcast = "yes" }) end, "broadcast must be a boolean",
  "bad broadcast")
fails(function() js:scatter(function() end) end, "cannot scatter", "a function")

h:release()
h2 = nil
collectgarbage()
js:destroy()
print("lua scatter: all ok")
