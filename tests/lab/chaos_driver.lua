-- The client of the chaos test (tests/lab/chaos.sh), run inside a lab host as
--   ppclient run chaos_driver.lua batch JOBS SLEEP_MS EXEC_DIR RESULTS_FILE NO_NODE_TIMEOUT_S
--   ppclient run chaos_driver.lua starve JOBS SLEEP_MS EXEC_DIR NO_NODE_TIMEOUT_S
-- with no address given (ppservers = {"*"}).
--
-- Every job returns its index, a hash computed from the index, its host name and a token
-- unique to that one execution, and first appends "index host token" to a per-worker file
-- in EXEC_DIR (the lab's hosts share the file system), so chaos.sh can count executions.
-- `batch` checks every result against the same hash computed here and writes
-- "index host token node" per job to RESULTS_FILE. `starve` expects the nodes to vanish
-- for good and reports how the unfinished jobs failed.
local pp = require "pp"
local ffi = require "ffi"
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } pp_timespec;
  int clock_gettime(int clk, pp_timespec* ts);
  int poll(void* fds, unsigned long n, int timeout);
]]
local function now()
  local ts = ffi.new("pp_timespec")
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- 1000 rounds of FNV-1a over the index's bytes; the FNV prime multiplication is spelt
-- as shifts so every intermediate sum stays exact in a double. Runs on the nodes and here.
local function mix(i)
  local bit = require "bit"
  local bxor, lshift, tobit, band = bit.bxor, bit.lshift, bit.tobit, bit.band
  local h = tobit(2166136261)
  for _ = 1, 1000 do
    local x = i
    for _ = 1, 4 do
      h = bxor(h, band(x, 255))
      h = tobit(h + lshift(h, 1) + lshift(h, 4) + lshift(h, 7) + lshift(h, 8) + lshift(h, 24))
      x = bit.rshift(x, 8)
    end
  end
  return bit.tohex(h)
end

-- The job. No upvalues: `mix` travels as a dependency function.
local function job(i, ms, dir)
  local ffi = require "ffi"
  pcall(ffi.cdef, "int usleep(unsigned int usec); int getpid(void);")
  local h = mix(i)
  ffi.C.usleep(ms * 1000)
  local f = assert(io.open("/proc/sys/kernel/hostname", "r"))
  local host = f:read("*l")
  f:close()
  f = assert(io.open("/dev/urandom", "rb"))
  local token = f:read(8):gsub(".", function(c) return string.format("%02x", c:byte()) end)
  f:close()
  f = assert(io.open(dir .. "/" .. host .. "." .. ffi.C.getpid(), "a"))
  f:write(i, " ", host, " ", token, "\n")
  f:close()
  return i, h, host, token
end

local function count_nodes(js)
  local n = 0
  for _ in pairs(js:get_active_nodes()) do n = n + 1 end
  return n
end

local function wait_nodes(js, want, seconds)
  local t0 = now()
  while count_nodes(js) < want and now() - t0 < seconds do ffi.C.poll(nil, 0, 10) end
  return count_nodes(js)
end

local function say(...)
  print(string.format(...))
  io.stdout:flush()
end

local mode = arg[1]
local jobs_n, sleep_ms, dir = tonumber(arg[2]), tonumber(arg[3]), arg[4]

if mode == "batch" then
  local results_file, no_node_timeout = arg[5], tonumber(arg[6])
  local js = pp.server{ ppservers = { "*" }, no_node_timeout = no_node_timeout }
  say("found %d nodes", wait_nodes(js, 4, 15))
  local t0 = now()
  local jobs = {}
  for i = 1, jobs_n do jobs[i] = js:submit(job, { i, sleep_ms, dir }, { mix = mix }) end
  say("submitted %d jobs", jobs_n)
  local out = assert(io.open(results_file, "w"))
  local bad = 0
  for i = 1, jobs_n do
    local ri, h, host, token = jobs[i]:result()
    if ri ~= i or h ~= mix(i) or type(host) ~= "string" or type(token) ~= "string" then
      bad = bad + 1
      if bad <= 20 then say("bad result for job %d: %s %s", i, tostring(ri), tostring(h)) end
    else
      out:write(i, " ", host, " ", token, " ", jobs[i].node, "\n")
    end
    if i % 250 == 0 then say("progress %d", i) end
  end
  out:close()
  say("results: %d of %d correct in %.1f s", jobs_n - bad, jobs_n, now() - t0)
  js:print_stats()
  if bad > 0 then error(bad .. " bad results", 0) end
elseif mode == "starve" then
  local no_node_timeout = tonumber(arg[5])
  local js = pp.server{ ppservers = { "*" }, no_node_timeout = no_node_timeout }
  say("found %d nodes", wait_nodes(js, 1, 15))
  local jobs = {}
  for i = 1, jobs_n do jobs[i] = js:submit(job, { i, sleep_ms, dir }, { mix = mix }) end
  say("submitted %d jobs", jobs_n)
  local ok, failed, first = 0, 0, nil
  for i = 1, jobs_n do
    local ri, err = jobs[i]:result()
    if ri == i then
      ok = ok + 1
    else
      failed = failed + 1
      first = first or tostring(err)
    end
    if i == 1 then say("first job done") end
  end
  say("starved: %d ok, %d failed", ok, failed)
  say("first error: %s", first or "none")
else
  error("usage: chaos_driver.lua batch|starve ...")
end
