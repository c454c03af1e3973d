-- The dashboard test's batch, run in a lab host as
--   ppclient run --dashboard ADDRESS:PORT dashboard_driver.lua GATE JOBS NAP_MS NODES
-- It waits for NODES nodes (found by broadcast), then for the file GATE (the test's browser
-- has the page open), then runs JOBS jobs that nap NAP_MS each in two groups; job 13 fails
-- with a traceback, and every 25th job prints a line. Then a two-stage pipeline over
-- PIPELINE_ITEMS (60) items: the first stage drops every 10th, the second naps 150 ms,
-- at most 3 items in flight (so its progress lasts a few of the page's polls).
local pp = require "pp"
local ffi = require "ffi"
ffi.cdef [[
  int poll(void* fds, unsigned long n, int timeout);
  int access(const char* path, int mode);
]]

local gate, jobs_n, nap_ms, expect = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
local js = pp.server{ ppservers = { "*" } }
local waited = 0
repeat
  local n = 0
  for _ in pairs(js:get_active_nodes()) do n = n + 1 end
  if n >= expect then break end
  ffi.C.poll(nil, 0, 50)
  waited = waited + 0.05
until waited > 30
print("nodes ready")
io.stdout:flush()
while ffi.C.access(gate, 0) ~= 0 do ffi.C.poll(nil, 0, 50) end

local function nap(i, ms)
  local ffi = require "ffi"
  pcall(ffi.cdef, "int usleep(unsigned int usec);")
  if i == 13 then error("dashboard test: job 13 fails on purpose") end
  if i % 25 == 0 then print("job " .. i .. " says hello") end
  ffi.C.usleep(ms * 1000)
  return i * 2
end
for i = 1, jobs_n do
  js:submit{ nap, { i, nap_ms }, group = i <= jobs_n / 2 and "first half" or "second half" }
end
local PIPELINE_ITEMS = 60
local function keep_most(x)
  if x % 10 == 0 then return nil end
  return x
end
local function slow_double(x)
  local ffi = require "ffi"
  pcall(ffi.cdef, "int usleep(unsigned int usec);")
  ffi.C.usleep(150000)
  return 2 * x
end
local items = {}
for i = 1, PIPELINE_ITEMS do items[i] = i end
local outputs = 0
local pl = js:pipeline{ { fn = keep_most, name = "keep most" },
                        { fn = slow_double, name = "slow double" } }
for _ in pl:map(items, { window = 3 }) do
  outputs = outputs + 1
end
print("pipeline outputs: " .. outputs)
js:wait()
print("batch done")
io.stdout:flush()
