-- Monte Carlo pi on a ppcluster: the classic Parallel Python demo.
--
--   luajit examples/pi.lua                      -- local workers, no configuration
--   ppclient run examples/pi.lua node1 node2    -- nodes on the LAN (host[:port])
--
-- Every job counts hits of random points in the unit quarter circle, once with the
-- native kernel (C++ through LuaJIT's FFI) and once with its pure-LuaJIT twin;
-- both give exactly the same count.
local pp = require "pp"

local JOBS, SAMPLES = 32, 1.25e6          -- 4e7 samples in all

local nodes = {}
for i = 1, select("#", ...) do nodes[#nodes + 1] = select(i, ...) end
local js = pp.server{ ppservers = nodes, ncpus = (#nodes > 0) and 0 or "autodetect" }

-- Runs on a node; `native` and `pure` are the modules listed at submit.
local function count_hits(samples, seed, use_native)
  if use_native then return native.mc_pi_hits(samples, seed) end
  return pure.mc_pi_hits(samples, seed)
end

local function estimate(use_native)
  local jobs = {}
  for i = 1, JOBS do
    jobs[i] = js:submit(count_hits, { SAMPLES, i, use_native }, nil, { "pp.native", "pp.pure" })
  end
  local hits = 0
  for i = 1, JOBS do hits = hits + jobs[i]() end
  return hits
end

local native_hits = estimate(true)
local pure_hits = estimate(false)
print(string.format("pi is about %.6f (%d jobs, %.0f samples, %d workers)",
  4 * native_hits / (JOBS * SAMPLES), JOBS, JOBS * SAMPLES, js:get_ncpus()))
print(string.format("native kernel and pure-LuaJIT twin agree: %s (%d hits)",
  tostring(native_hits == pure_hits), native_hits))
js:print_stats()
if native_hits ~= pure_hits then os.exit(1) end
