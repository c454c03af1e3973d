-- Values that stay where they are made, from Lua (run by `ppclient run`, on the embedded
-- node's real workers): a pipeline's 1 MiB intermediates stay on the node (the bytes
-- through the driver, from js:get_stats(), are a small share of them); a job submitted
-- with keep = true hands its value to a dependent there, and job() still gets it (fetched
-- once); so does a job whose dependent came while it ran (kept late, without keep); a
-- small kept value comes back inline; keep must be a boolean.
local pp = require "pp"

local function check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end
local MiB = 1048576

local js = pp.server{ ncpus = 2 }
js:wait_for_workers(2)
local function through()
  local n = 0
  for _, s in ipairs(js:get_stats()) do n = n + s.bytes_sent + s.bytes_received end
  return n
end

-- A pipeline: 40 items of 1 MiB between its stages.
local pl = js:pipeline{ function(i) return string.rep("v", 1048575) .. string.char(65 + i % 26) end,
                        function(s) return #s .. s:sub(-1) end }
local got = 0
for out, i in pl:map(function() got = got + 1; if got <= 40 then return got end end,
                     { window = 8 }) do
  check(out == MiB .. string.char(65 + i % 26), "item " .. i .. ": " .. tostring(out))
end
local moved = through()
print(string.format("pipeline: %d bytes through the driver for %d bytes of intermediates",
                    moved, 40 * MiB))
check(moved < 40 * MiB / 10, "under a tenth of the intermediates crossed: " .. moved)

-- keep = true: the dependent takes the value on the node; job() fetches it once.
local before = through()
local a = js:submit{ function(n) return string.rep("x", n), "beside" end, { MiB }, keep = true }
local b = js:submit{ function(s) return #s end, { a } }
check(b() == MiB, "the dependent got the kept value")
check(through() - before < MiB / 10, "it did not cross: " .. (through() - before))
local v, w = a()
check(#v == MiB and v:sub(1, 3) == "xxx", "job() fetched the kept value")
check(w == "beside", "the other values came with the result")
check(through() - before >= MiB, "it crossed once, when asked for")
-- No keep asked: a dependent submitted while its input already runs still takes the
-- value where it is made (KEEP_LATE), and only its small handle crosses.
before = through()
local slow = js:submit(function(n)
  local t = os.clock() while os.clock() - t < 0.5 do end
  return string.rep("y", n)
end, { MiB })
while slow:status() == "pending" do end   -- sent: it runs on the node
local user = js:submit(function(s) return #s .. s:sub(-1) end, { slow })
check(user() == MiB .. "y", "the late dependent got the value")
local crossed = through() - before
print(string.format("late dependent: %d bytes through the driver for a value of %d", crossed, MiB))
check(crossed < MiB / 10, "it stayed on its node: " .. crossed)
check(#slow() == MiB, "job() still fetches it")

local small = js:submit{ function() return "tiny" end, {}, keep = true }
check(small() == "tiny", "a small kept value comes back inline")
local ok, err = pcall(js.submit, js, { function() end, {}, keep = "yes" })
check(not ok and tostring(err):find("keep must be true or false", 1, true), tostring(err))
print("locality: all ok")
