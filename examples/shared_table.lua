-- A large table sent to each node once, shared by many jobs (js:scatter).
--
--   luajit examples/shared_table.lua                 -- local workers, no configuration
--   ppclient run examples/shared_table.lua node1     -- nodes on the LAN (host[:port])
--
-- A lookup grid of 1,000,000 numbers (about 9 MB packed) is scattered once; 200 jobs
-- each sum one slice of it. Without scatter the grid would travel with every job
-- (200 times); with it, it reaches each node once and each worker decodes it once.
-- Each worker also counts in worker.state how many slices it summed: that table lasts
-- between the jobs of this script on that worker.
local pp = require "pp"

local nodes = {}
for i = 1, select("#", ...) do nodes[#nodes + 1] = select(i, ...) end
local js = pp.server{ ppservers = nodes, ncpus = (#nodes > 0) and 0 or "autodetect" }
js:wait_for_workers(1)

local N, JOBS = 1000000, 200
local grid = {}
for i = 1, N do grid[i] = (i % 1000) * 0.5 end
local h = js:scatter(grid)
print(string.format("scattered a grid of %d numbers: %s", N, tostring(h)))

local function slice_sum(g, lo, hi)
  local s = 0
  for i = lo, hi do s = s + g[i] end
  worker.state.slices = (worker.state.slices or 0) + 1
  return s, worker.id, worker.state.slices
end

local jobs, per = {}, N / JOBS
for k = 1, JOBS do jobs[k] = js:submit(slice_sum, { h, (k - 1) * per + 1, k * per }) end
local total, most = 0, {}
for _, job in ipairs(jobs) do
  local s, id, count = job()
  total = total + s
  most[id] = math.max(most[id] or 0, count)
end
local expected = 0
for i = 1, N do expected = expected + grid[i] end
print(string.format("sum of the grid: %.1f (expected %.1f)", total, expected))
for id, count in pairs(most) do print(string.format("  %s summed %d slices", id, count)) end
h:release()   -- the nodes free it once no job needs it
js:print_stats()
