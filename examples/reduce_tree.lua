-- A tree reduction: the sum of the squares of 1..n (default 10,000), one job per leaf
-- and one job per pairwise sum. Each sum job gets two jobs as arguments: it is sent once
-- both are done, with their values in their place. The driver submits the whole graph
-- (about 2n jobs) without waiting for any of them, then waits for the root alone.
--
--   ppclient run examples/reduce_tree.lua [n]
--   luajit examples/reduce_tree.lua [n]        (with pp on LUA_PATH / LUA_CPATH)
local pp = require "pp"

local n = tonumber((arg and arg[1]) or 10000)
local js = pp.server()

local function square(i) return i * i end
local function add(a, b) return a + b end

local level = {}
for i = 1, n do level[i] = js:submit(square, { i }) end
local jobs = n
while #level > 1 do
  local up = {}
  for i = 1, #level - 1, 2 do
    up[#up + 1] = js:submit(add, { level[i], level[i + 1] })
    jobs = jobs + 1
  end
  if #level % 2 == 1 then up[#up + 1] = level[#level] end
  level = up
end

local sum = level[1]()
local expected = n * (n + 1) * (2 * n + 1) / 6
print(string.format("sum of squares of 1..%d: %d by %d jobs (expected %d)", n, sum, jobs,
                    expected))
if sum ~= expected then os.exit(1) end
