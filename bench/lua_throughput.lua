-- Trivial jobs through the Lua API, for bench/run.sh (via bench/pp_cpu.py):
--
--   ppclient run bench/lua_throughput.lua N [HOST:PORT]
--
-- N jobs x -> x + 1 submitted one call at a time, then collected. With HOST:PORT the jobs
-- go to that node only (no local workers); without, to the embedded local node with 2
-- workers. Prints one JSON line: the wall time of the submit loop plus collection.
local pp = require "pp"
local ffi = require "ffi"

ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } ppb_timespec;
  int clock_gettime(int clk, ppb_timespec* ts);
]]
local ts = ffi.new("ppb_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local n = tonumber(arg[1]) or 100000
local node = arg[2]
local js = node and pp.server{ ppservers = { node }, ncpus = 0 } or pp.server{ ncpus = 2 }
local function inc(x) return x + 1 end

-- Warm-up: connected, code cached, and every worker started and past its first jobs (the
-- embedded node starts its workers with the script, a separate node long before it).
local warm = {}
for i = 1, 2000 do warm[i] = js:submit(inc, { i }) end
for i = 1, 2000 do assert(warm[i]() == i + 1) end
warm = nil
local t0 = now()
local jobs = {}
for i = 1, n do jobs[i] = js:submit(inc, { i }) end
local sum = 0
for i = 1, n do sum = sum + jobs[i]() end
local s = now() - t0
if sum ~= n * (n + 1) / 2 + n then
  io.stderr:write("lua_throughput: wrong results\n")
  os.exit(1)
end
print(string.format('{"system": "ppcluster", "client": "lua", "node": "%s", "jobs": %d, "submit_loop_s": %.4f}',
  node and "separate" or "embedded", n, s))
