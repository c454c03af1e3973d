-- The batch of bench/pause.sh and bench/guest.sh: JOBS jobs of SECONDS_PER_JOB CPU seconds
-- each on the nodes NODE_A and NODE_B; touches the file STARTED once all are submitted, and
-- checks every job's value.
local pp = require "pp"
local js = pp.server{ ppservers = { os.getenv("NODE_A"), os.getenv("NODE_B") } }
local n, s = tonumber(os.getenv("JOBS")), tonumber(os.getenv("SECONDS_PER_JOB"))
local spin = function(i, cpu_s)
  local t0 = os.clock()
  while os.clock() - t0 < cpu_s do end
  return i
end
js:wait_for_workers(4)
local jobs = {}
for i = 1, n do jobs[i] = js:submit(spin, { i, s }) end
io.open(os.getenv("STARTED"), "w"):close()
for i = 1, n do assert(jobs[i]() == i, "job " .. i) end
print("all " .. n .. " results correct")
