-- The futures of the Lua API (run by `ppclient run`, on the embedded node's real
-- workers): Parallel Python's positional submit with callbackargs and group, the spec
-- form and its errors, depfuncs as a list, cancel, status, wait with return_when and a
-- timeout, as_completed (its order, and no CPU while it blocks), wait_for_workers,
-- retries. Jobs that must not finish yet wait for a file the driver writes, so every
-- order checked here is forced, not raced.
local pp = require "pp"
local HERE = debug.getinfo(1, "S").short_src

local function check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end
local function fails(f, pattern, what)
  local ok, msg = pcall(f)
  check(not ok, what .. ": no error")
  check(tostring(msg):find(pattern, 1, true), what .. ": " .. tostring(msg))
  return msg
end

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir " .. dir) == 0)
local function release(name) assert(io.open(dir .. "/" .. name, "w")):close() end

-- A job that returns `value` once the file `name` exists in `dir`.
local function wait_for(dir, name, value)
  while true do
    local f = io.open(dir .. "/" .. name)
    if f then
      f:close()
      return value
    end
    os.execute("sleep 0.02")
  end
end
local function square(x) return x * x end

local js = pp.server{ ncpus = 3 }
js:wait_for_workers(3)
check(js:get_ncpus() == 3, "wait_for_workers: the workers are there")
local msg = fails(function() js:wait_for_workers(50, 0.3) end, "wait_for_workers: ",
  "more workers than there are")
check(msg:find("local", 1, true), "names what is connected: " .. msg)

-- Parallel Python's positional form: callback(callbackargs..., result), group
local seen = {}
local function note(tag, k, v) seen[#seen + 1] = tag .. k .. "=" .. tostring(v) end
for i = 1, 3 do js:submit(square, { i }, nil, nil, note, { "sq", i }, "squares") end
local done, not_done = js:wait("squares", { timeout = 60 })
check(#done == 3 and #not_done == 0, "wait on a group")
check(#seen == 3, "callbacks ran before wait returned: " .. #seen)
table.sort(seen)
check(seen[1] == "sq1=1" and seen[3] == "sq3=9", "callbackargs come first: " .. seen[1])
local failed_cb
js:submit(function() error("boom") end, nil, nil, nil,
  function(tag, v, err) failed_cb = { tag, v, err } end, { "t" })
js:wait()
check(failed_cb[1] == "t" and failed_cb[2] == nil and failed_cb[3].kind == "lua error",
  "a failed job's callback gets nil, err after its callbackargs")
fails(function() js:wait("no such group") end, "no job was submitted in group 'no such group'",
  "unknown group")
fails(function() js:submit(square, { 1 }, nil, nil, nil, 5) end,
  "js:submit{fn, args, timeout = seconds}", "the old sixth argument")

-- callbacks run at the next call into the library, on this thread
local ran = false
local cb_job = js:submit(square, { 4 }, nil, nil, function(v) ran = v end)
js:wait({ cb_job })
check(ran == 16, "a callback ran by wait(list)")
ran = false
local later = js:submit(square, { 5 }, nil, nil, function(v) ran = v end)
while not later:done() do os.execute("sleep 0.01") end
check(ran == false, "no callback runs while the driver's code does")
js:submit(square, { 1 })
check(ran == 25, "the next submit ran it")

-- many callback jobs (watched in merged batches): each callback runs exactly once,
-- during the submits or by wait()
local calls = {}
for i = 1, 3000 do
  js:submit(square, { i }, nil, nil, function(v) calls[v] = (calls[v] or 0) + 1 end)
end
js:wait()
local once = 0
for i = 1, 3000 do once = once + (calls[i * i] == 1 and 1 or 0) end
check(once == 3000, "every callback ran once: " .. once)

-- the spec form and its errors
local spec_seen
local sj = js:submit{ square, { 6 }, callback = function(a, v) spec_seen = a .. v end,
                      callbackargs = { "v=" }, group = "spec", timeout = 30 }
check(sj() == 36 and spec_seen == "v=36", "spec form")
check(js:wait("spec") and true, "spec group")
fails(function() js:submit{ square, { 1 }, retry = 2 } end, "did you mean 'retries'?",
  "unknown key")
fails(function() js:submit{ square, { 1 }, timeout = -1 } end, "timeout must be a number",
  "negative timeout")
fails(function() js:submit{ square, { 1 }, retries = 1.5 } end, "retries must be a whole",
  "fractional retries")
fails(function() js:submit{ square, { 1 }, node = 7 } end, "node must be \"host:port\"",
  "node not a string")
fails(function() js:submit{ square, { 1 }, after = { 1 } } end, "after[1] is a number, not a job",
  "after of a number")
fails(function() js:submit{ square, { 1 }, callback = 3 } end, "callback must be a function",
  "callback not a function")
fails(function() js:submit{ "square" } end, "expected a function, got string", "no function")
local at = fails(function() js:submit{ square, { 1 }, group = 5 } end, "group must be", "group")
check(at:find(HERE .. ":", 1, true) == 1, "spec errors point at the caller: " .. at)

-- depfuncs as a plain list: bound under the names the code uses
local function sq(x) return x * x end
local function cube(x) return sq(x) * x end
local also_sq = sq
local function uses(x) return cube(x) + also_sq(x) end
check(js:submit(uses, { 2 }, { cube, sq })() == 12, "depfuncs list, through another depfunc")
local function unused() end
local unused_line = debug.getinfo(unused, "S").linedefined
local unused_msg = fails(function() js:submit(uses, { 2 }, { cube, sq, unused }) end,
  HERE .. ":" .. unused_line .. ") is not used", "a depfunc nothing uses")
check(unused_msg:find("depfuncs[3] (defined at ", 1, true), "names the entry: " .. unused_msg)
check(js:submit(uses, { 3 }, { cube = cube, also_sq = sq, sq = sq })() == 36, "named depfuncs")

-- status, cancel of a running and of a queued job: three workers held by waiting jobs
local held = {}
for i = 1, 3 do held[i] = js:submit(wait_for, { dir, "go", i }) end
local queued = {}
for i = 1, 29 do queued[i] = js:submit(square, { i }) end
-- Known-short code may be sent to the node ahead of a free worker: the job cancelled "in the
-- driver" is one the driver holds for sure, behind a held job.
queued[30] = js:submit{ square, { 30 }, after = { held[3] } }
check(queued[30]:status() == "pending", "a queued job is pending: " .. queued[30]:status())
check(queued[30]:cancel() == true, "cancel of a queued job")
check(queued[30]:status() == "cancelled", "then it is cancelled")
local _, qerr = queued[30]:result()
check(qerr.kind == "cancelled" and getmetatable(qerr) == pp.RemoteError, "kind cancelled")
check(queued[30].node == nil and queued[30].attempts == 0, "no node ran a job cancelled in the driver")
check(queued[30]:cancel() == false, "cancelling again says it had finished")
local cancelled_groups = js:cancel({ queued[28], queued[29] })
check(cancelled_groups == 2, "js:cancel(list) counts " .. cancelled_groups)
while held[1]:status() == "pending" do os.execute("sleep 0.01") end
check(held[1]:status() == "running", "a started job is running")
-- the running job's worker is stopped and a job behind it runs at once
check(held[1]:cancel() == true, "cancel of a running job")
local okc, errc = pcall(held[1])
check(not okc and errc.kind == "cancelled", "job() raises kind cancelled")
check(queued[1]() == 1, "the queue moves on after the cancel")
release("go")
check(held[2]() == 2 and held[2]:status() == "finished", "finished")
local bad = js:submit(function() error("no") end)
bad:result()
check(bad:status() == "failed", "failed")
check(held[2].elapsed > 0 and held[2].attempts == 1, "elapsed and attempts: " ..
  tostring(held[2].elapsed) .. ", " .. tostring(held[2].attempts))

-- wait: FIRST_COMPLETED, FIRST_EXCEPTION, timeout
local slow = js:submit(wait_for, { dir, "slow", "s" })
local quick = js:submit(square, { 3 })
done, not_done = js:wait({ slow, quick }, { return_when = "FIRST_COMPLETED" })
check(#done == 1 and done[1] == quick and not_done[1] == slow, "FIRST_COMPLETED")
local boom = js:submit(function() error("first exception") end)
done, not_done = js:wait({ slow, quick, boom }, { return_when = "FIRST_EXCEPTION" })
check(#done == 2 and #not_done == 1 and not_done[1] == slow, "FIRST_EXCEPTION")
done, not_done = js:wait({ slow }, { timeout = 0.2 })
check(#done == 0 and not_done[1] == slow, "timeout")
local every, none_left = js:wait(nil, { timeout = 0 })
local has_quick = false
for _, j in ipairs(every) do has_quick = has_quick or j == quick end
check(has_quick and #none_left >= 1 and none_left[#none_left] == slow,
  "wait(nil): every job held, in order")
fails(function() js:wait({ slow }, { return_when = "ANY" }) end, "return_when must be",
  "bad return_when")
fails(function() js:wait({ slow }, { timout = 1 }) end, "did you mean 'timeout'?",
  "unknown wait option")
fails(function() js:wait({ slow, 3 }) end, "jobs[2] is a number, not a job", "not a job")
fails(function() for _ in js:as_completed({ slow }, { timeout = 0.2 }) do end end,
  "as_completed: timed out after 0.2 s with 1 of 1 jobs unfinished", "as_completed timeout")

-- as_completed: the order they finish in, forced by the driver; no CPU while it waits
local a = js:submit(square, { 2 })
local b = js:submit(wait_for, { dir, "b", "b" })
local c = js:submit(wait_for, { dir, "c", "c" })
local order, blocked_cpu = {}, nil
for j in js:as_completed({ b, c, a }) do
  order[#order + 1] = j == a and "a" or j()
  if j == a then
    release("c")
  elseif j == c then
    os.execute("(sleep 0.5; touch " .. dir .. "/b) &")
    local t0 = os.clock()
    local next_job = nil
    for k in js:as_completed({ b }) do next_job = k end
    blocked_cpu = os.clock() - t0
    check(next_job == b, "the blocked wait gives b")
  end
end
check(table.concat(order) == "acb", "as_completed order: " .. table.concat(order))
check(blocked_cpu < 0.05, "CPU while blocked in as_completed: " .. blocked_cpu .. " s")
release("slow")

-- retries through the spec form: one that succeeds on its second run, one that gives up
local function flaky(dir, name)
  local f = io.open(dir .. "/" .. name)
  if f then
    f:close()
    return "second time lucky"
  end
  assert(io.open(dir .. "/" .. name, "w")):close()
  error("first run fails")
end
local r = js:submit{ flaky, { dir, "flaky" }, retries = 2 }
check(r() == "second time lucky" and r.attempts == 2, "a retry succeeds: attempts " ..
  tostring(r.attempts))
local never = js:submit{ function() error("always") end, retries = 1 }
local _, nerr = never:result()
check(nerr and nerr.kind == "lua error" and never.attempts == 2, "retries give up: attempts " ..
  tostring(never.attempts))

js:wait()
js:destroy()
os.execute("rm -rf " .. dir)
print("lua futures: all ok")
