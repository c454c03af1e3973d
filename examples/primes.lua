-- Counting primes on a ppcluster, split into ranges: native kernel and pure twin.
--
--   luajit examples/primes.lua [limit] [host[:port] ...]
local pp = require "pp"

local limit = tonumber((...)) or 2e7
local nodes = {}
for i = 2, select("#", ...) do nodes[#nodes + 1] = select(i, ...) end
local js = pp.server{ ppservers = nodes, ncpus = (#nodes > 0) and 0 or "autodetect" }

local function count(lo, hi, use_native)
  if use_native then return native.count_primes(lo, hi) end
  return pure.count_primes(lo, hi)
end

local PARTS = 16
local step = math.ceil(limit / PARTS)
local function total(use_native)
  local jobs = {}
  for i = 0, PARTS - 1 do
    local lo, hi = i * step, math.min((i + 1) * step, limit)
    jobs[#jobs + 1] = js:submit(count, { lo, hi, use_native }, nil, { "pp.native", "pp.pure" })
  end
  local n = 0
  for _, job in ipairs(jobs) do n = n + job() end
  return n
end

local native_count, pure_count = total(true), total(false)
print(string.format("primes below %d: %d (pure-LuaJIT twin: %d)", limit, native_count, pure_count))
js:print_stats()
if native_count ~= pure_count then os.exit(1) end
