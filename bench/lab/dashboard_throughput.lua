-- Client of bench/dashboard.sh: connects to the nodes on 127.0.0.1 at the ports given,
-- waits for all their workers, then for the file GATE (the bench has its browser or
-- poller running), and times a batch of JOBS tiny jobs (the io thread's work is what
-- is measured). Prints one line: jobs, seconds, jobs/s.
--   ppclient run [--dashboard ...] dashboard_throughput.lua JOBS WORKERS GATE PORT...
local pp = require "pp"
local ffi = require "ffi"
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } pp_db_ts;
  int clock_gettime(int clk, pp_db_ts* ts);
  int usleep(unsigned int usec);
  int access(const char* path, int mode);
]]
local function now()
  local ts = ffi.new("pp_db_ts")
  ffi.C.clock_gettime(1, ts)   -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local jobs_n, workers, gate = tonumber(arg[1]), tonumber(arg[2]), arg[3]
local servers = {}
for i = 4, #arg do servers[#servers + 1] = "127.0.0.1:" .. arg[i] end
local js = pp.server{ ncpus = 0, ppservers = servers }
local deadline = now() + 60
while js:get_ncpus() < workers do
  if now() > deadline then error("the nodes' workers did not all connect") end
  ffi.C.usleep(20000)
end
while ffi.C.access(gate, 0) ~= 0 do ffi.C.usleep(20000) end

local function double(i) return i * 2 end
local warm = {}
for i = 1, 100 do warm[i] = js:submit(double, { i }) end
for i = 1, 100 do warm[i]() end
local t0 = now()
local jobs = {}
for i = 1, jobs_n do jobs[i] = js:submit(double, { i }) end
for i = 1, jobs_n do assert(jobs[i]() == i * 2) end
local s = now() - t0
print(("jobs %d seconds %.3f jobs_per_s %.0f"):format(jobs_n, s, jobs_n / s))
