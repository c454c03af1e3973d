-- A three-stage pipeline over an endless generator, stopped after 100,000 items (run by
-- `ppclient run` on the embedded node's real workers): the driver's memory levels off.
-- Its resident set is sampled every 10,000 items after a warm-up (as the
-- integration.memory tests do); a driver that kept anything per item (jobs, records,
-- outputs) would grow by megabytes over the stream. Sanitized builds run a shorter stream.
local pp = require "pp"

local function check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end

local sanitized = os.getenv("PP_TEST_SANITIZED") ~= nil
local ITEMS = sanitized and 30000 or 100000
local WARM_UP = sanitized and 10000 or 20000
local SAMPLE_EVERY = 10000
local MAX_GROWTH_KIB = 4096

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local text = f:read("*a")
  f:close()
  return tonumber(text:match("VmRSS:%s*(%d+)"))
end

local js = pp.server{ ncpus = 2 }
js:wait_for_workers(2)

local function generate(x) return x * 3 end
local function square(x) return x * x end
local function subtract(x) return x - 1 end
local pl = js:pipeline{ generate, square, subtract }

local n = 0
local function endless() n = n + 1; return n end

local count, wrong, baseline, peak = 0, 0, nil, 0
local samples = {}
for out, i in pl:map(endless, { window = 1000 }) do
  if out ~= (3 * i) * (3 * i) - 1 then wrong = wrong + 1 end
  count = count + 1
  if count % SAMPLE_EVERY == 0 then
    collectgarbage()
    local now = rss_kib()
    samples[#samples + 1] = count .. ": " .. now .. " KiB"
    if count == WARM_UP then baseline = now end
    if count > WARM_UP and now > peak then peak = now end
  end
  if count == ITEMS then break end
end
local stopped = pl:cancel()
print(table.concat(samples, "\n"))
local s = pl:stats()
print(string.format("%d items, %.0f items/s; stopped %d in flight", count, s.items_per_second,
  stopped))
check(count == ITEMS and wrong == 0, "every output right: " .. wrong .. " wrong")
check(stopped > 0 and stopped <= 1000, "the window bounded what was in flight: " .. stopped)
check(peak - baseline < MAX_GROWTH_KIB,
  string.format("driver memory flat: grew %d KiB after the warm-up", peak - baseline))
js:destroy()
print("pipeline memory: all ok")
