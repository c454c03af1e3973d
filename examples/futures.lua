-- Futures on a ppcluster: results as they come, the first answer wins, the rest cancelled.
--
--   luajit examples/futures.lua                 -- local workers, no configuration
--   ppclient run examples/futures.lua node1     -- nodes on the LAN (host[:port])
--
-- 1. Counts the primes below 2,000,000 in 20 slices, printing each slice as it finishes
--    (as_completed), with the node that ran it and the seconds it took there.
-- 2. Searches four ranges at once for a number whose Collatz trajectory is longer than
--    a target; the first range to find one wins (wait FIRST_COMPLETED) and the others are
--    cancelled by their group.
local pp = require "pp"

local nodes = {}
for i = 1, select("#", ...) do nodes[#nodes + 1] = select(i, ...) end
local js = pp.server{ ppservers = nodes, ncpus = (#nodes > 0) and 0 or "autodetect" }
js:wait_for_workers(1)

-- 1. as_completed, with the spec form (a time limit and a retry per slice)
local function count(lo, hi) return native.count_primes(lo, hi) end
local N, SLICES = 2000000, 20
local slices = {}
for i = 1, SLICES do
  local lo, hi = (i - 1) * N / SLICES, i * N / SLICES
  slices[i] = js:submit{ count, { lo, hi }, modules = { "pp.native" }, timeout = 60, retries = 1 }
end
local total, finished = 0, 0
for job in js:as_completed(slices) do
  finished = finished + 1
  total = total + job()
  print(string.format("  slice %2d of %d done on %s in %.1f ms (%d/%d)", job.id - slices[1].id + 1,
    SLICES, job.node, job.elapsed * 1000, finished, SLICES))
end
print("primes below " .. N .. ": " .. total)

-- 2. The first answer wins. `steps` is bound on the node under the name `search` uses.
local function steps(n)
  local k = 0
  while n ~= 1 do
    n = (n % 2 == 0) and n / 2 or 3 * n + 1
    k = k + 1
  end
  return k
end
local function search(lo, hi, target)
  for n = lo, hi do
    if steps(n) > target then return n end
  end
end
local TARGET = 500
local ranges = { { 1, 1e6 }, { 1e6, 2e6 }, { 2e6, 3e6 }, { 3e6, 4e6 } }
for _, r in ipairs(ranges) do js:submit(search, { r[1], r[2], TARGET }, { steps }, nil, nil, nil, "search") end
local done = js:wait("search", { return_when = "FIRST_COMPLETED" })
local winner = done[1]
print(string.format("a number with more than %d Collatz steps: %d (%d steps)", TARGET, winner(),
  steps(winner())))
print("cancelled the other searches: " .. js:cancel("search"))
js:destroy()
