-- Client of bench/many_nodes.sh: connects to the nodes named on the command line, waits
-- until all their workers are connected, then times a batch of naps submitted at once
-- and prints one line: nodes, jobs, nap ms, makespan s, ideal s, makespan / ideal.
local pp = require "pp"
local ffi = require "ffi"
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } pp_mn_ts;
  int clock_gettime(int clk, pp_mn_ts* ts);
  int usleep(unsigned int usec);
]]
local function now()
  local ts = ffi.new("pp_mn_ts")
  ffi.C.clock_gettime(1, ts)   -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local jobs_n, nap_ms, first_port, nodes_n = tonumber(arg[1]), tonumber(arg[2]),
  tonumber(arg[3]), tonumber(arg[4])
local servers = {}
for i = 0, nodes_n - 1 do servers[#servers + 1] = "127.0.0.1:" .. (first_port + i) end
local js = pp.server{ ncpus = 0, ppservers = servers, no_node_timeout = 120 }

local deadline = now() + 120
while js:get_ncpus() < nodes_n do
  if now() > deadline then error(("only %d of %d workers connected"):format(js:get_ncpus(), nodes_n)) end
  ffi.C.usleep(20000)
end

local function nap(ms)
  local f = require "ffi"
  pcall(f.cdef, "int usleep(unsigned int usec);")
  f.C.usleep(ms * 1000)
  return ms
end
-- One warm-up round: every node has the code and a measured job time before the clock starts.
local warm = {}
for i = 1, nodes_n do warm[i] = js:submit(nap, { nap_ms }) end
for i = 1, nodes_n do warm[i]() end

local t0 = now()
local jobs = {}
for i = 1, jobs_n do jobs[i] = js:submit(nap, { nap_ms }) end
for i = 1, jobs_n do assert(jobs[i]() == nap_ms) end
local makespan = now() - t0
local ideal = math.ceil(jobs_n / nodes_n) * nap_ms / 1000
print(("nodes %d jobs %d nap_ms %d makespan_s %.4f ideal_s %.4f ratio %.4f")
  :format(nodes_n, jobs_n, nap_ms, makespan, ideal, makespan / ideal))
