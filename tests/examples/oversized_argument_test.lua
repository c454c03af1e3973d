-- One argument over the node's frame limit (the embedded node's default, 64 MiB) fails
-- its job alone, before it is sent, with a pp.RemoteError naming its size and the
-- limit; every other job of the batch completes (run by `ppclient run`).
local pp = require "pp"

local function check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end

local js = pp.server{ ncpus = 1 }
local function square(x) return x * x end
local function len(s) return #s end

local jobs = {}
for i = 1, 10 do jobs[i] = js:submit(square, { i }) end
local big = js:submit(len, { string.rep("x", 65 * 1024 * 1024) })
for i = 11, 20 do jobs[i] = js:submit(square, { i }) end

local ok, err = pcall(big)
check(not ok and getmetatable(err) == pp.RemoteError, "the big job raises a pp.RemoteError")
check(err.kind == "rejected", "kind is rejected, got " .. tostring(err.kind))
check(err.message:find("its arguments are 68,157,44", 1, true) ~= nil, "names the size: " .. err.message)
check(err.message:find("frame limit of 67,108,864 bytes (ppserver --max-frame)", 1, true) ~= nil,
  "names the limit: " .. err.message)
for i = 1, 20 do check(jobs[i]() == i * i, "result " .. i) end
check(js:submit(len, { string.rep("y", 1000000) })() == 1000000, "a large argument within the limit")
print("oversized argument: all ok")
