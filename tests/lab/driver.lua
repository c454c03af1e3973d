-- The client of the LAN tests, run as `ppclient run driver.lua JOBS SLEEP_MS EXPECT_NODES`
-- inside a lab host with no address given: ppservers = {"*"}.
-- Prints how long discovery took, checks every result, and prints per-node job counts.
local pp = require "pp"
local ffi = require "ffi"
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } pp_timespec;
  int clock_gettime(int clk, pp_timespec* ts);
  int poll(void* fds, unsigned long n, int timeout);
]]
local function now()
  local ts = ffi.new("pp_timespec")
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local jobs_n, sleep_ms, expect = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3])
local t0 = now()
local js = pp.server{ ppservers = { "*" } }
local found
repeat
  local n = 0
  for _ in pairs(js:get_active_nodes()) do n = n + 1 end
  if n >= expect then found = now() - t0 break end
  ffi.C.poll(nil, 0, 5)
until now() - t0 > 10
print(string.format("found %d nodes in %.3f s", expect, found or -1))
io.stdout:flush()

-- A job that waits instead of burning CPU: the lab's hosts share two cores.
local function nap(i, ms)
  local ffi = require "ffi"
  pcall(ffi.cdef, "int usleep(unsigned int usec);")
  ffi.C.usleep(ms * 1000)
  return i * 2
end
local jobs = {}
for i = 1, jobs_n do jobs[i] = js:submit(nap, { i, sleep_ms }) end
local bad = 0
for i = 1, jobs_n do
  local ok, v = pcall(jobs[i])
  if not ok or v ~= i * 2 then
    bad = bad + 1
    print("bad result for job " .. i .. ": " .. tostring(v))
  end
end
print(string.format("results: %d of %d correct", jobs_n - bad, jobs_n))
for _, s in ipairs(js:get_stats()) do
  print(string.format("node %s jobs %d", s.node, s.jobs))
end
js:print_stats()
