-- Client of bench/discovery.sh: ppservers = {"*"}, a batch of short naps; each job
-- reports when it started (CLOCK_REALTIME, shared by every namespace on the machine),
-- and the client prints, per node, the start of the first job it ran.
local pp = require "pp"
local jobs_n, sleep_ms = tonumber(arg[1]), tonumber(arg[2])
local js = pp.server{ ppservers = { "*" }, no_node_timeout = 120 }
local function nap(ms)
  local ffi = require "ffi"
  pcall(ffi.cdef, [[
    typedef struct { long tv_sec; long tv_nsec; } pp_ts;
    int clock_gettime(int clk, pp_ts* ts);
    int usleep(unsigned int usec);
  ]])
  local ts = ffi.new("pp_ts")
  ffi.C.clock_gettime(0, ts)
  ffi.C.usleep(ms * 1000)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end
local jobs = {}
for i = 1, jobs_n do jobs[i] = js:submit(nap, { sleep_ms }) end
local first = {}
for i = 1, jobs_n do
  local started = jobs[i]()
  local node = jobs[i].node
  if not first[node] or started < first[node] then first[node] = started end
end
for node, t in pairs(first) do print(string.format("first job on %s at %.6f", node, t)) end
js:print_stats()
