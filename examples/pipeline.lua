-- A pipeline of stages on a ppcluster, in the style of the `clusterer` package:
-- generate -> square -> subtract -> print, over an endless stream of seeds.
--
--   luajit examples/pipeline.lua [items]          -- local workers, no configuration
--   ppclient run examples/pipeline.lua 5000 node1   -- nodes on the LAN (host[:port])
--
-- generate makes a number from a seed (a little work: a linear congruential walk), square
-- squares it, subtract takes the seed back off; numbers that are multiples of 7 are
-- dropped by square (a stage returning nil). The driver prints a running sum and, at
-- the end, each stage's time per item and the workers it kept busy: the slow stage
-- (generate) holds most of them without being told to.
local pp = require "pp"

local items = tonumber((...)) or 2000
local nodes = {}
for i = 2, select("#", ...) do nodes[#nodes + 1] = select(i, ...) end
local js = pp.server{ ppservers = nodes, ncpus = (#nodes > 0) and 0 or "autodetect" }
js:wait_for_workers(1)

local function generate(seed)
  local x = seed
  for _ = 1, 200000 do x = (x * 1103515245 + 12345) % 2147483648 end
  return { seed = seed, value = x % 1000 }
end
local function square(g)
  if g.value % 7 == 0 then return nil end          -- dropped
  return { seed = g.seed, value = g.value * g.value }
end
local function subtract(s) return s.value - s.seed end

local pl = js:pipeline{ { fn = generate, name = "generate" }, { fn = square, name = "square" },
                        { fn = subtract, name = "subtract" } }

local seed = 0
local function seeds() seed = seed + 1; return seed end   -- endless

local sum, outputs, last = 0, 0, 0
for out, i in pl:map(seeds, { ordered = true, window = 200 }) do
  sum = sum + out
  outputs = outputs + 1
  last = i
  if outputs % 500 == 0 then print(string.format("item %d: running sum %d", i, sum)) end
  if i >= items then break end
end
pl:cancel()

-- pl:stats() counts every item that went through, those still in flight at the break
-- included; the loop's own figures are the items up to the break.
local s = pl:stats()
print(string.format("%d items, %d dropped, %d outputs, sum %d, %.0f items/s", last,
  last - outputs, outputs, sum, s.items_per_second))
for k, st in ipairs(s.stages) do
  print(string.format("  stage %d %-9s %8.3f ms/item  %.2f workers", k, st.name,
    st.seconds_per_item * 1000, st.workers))
end
js:destroy()
