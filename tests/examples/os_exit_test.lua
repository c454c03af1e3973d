-- os.exit from a script run by `ppclient run`, with a cluster still open: the exit status is
-- the script's, and the Lua state is closed first (so the cluster's io thread is joined
-- before the process exits; a sanitizer build reports a race or a leak otherwise).
local pp = require "pp"
local js = pp.server{ ncpus = 1 }
assert(js:submit(function(x) return x + 1 end, { 41 })() == 42)
local witness = newproxy(true)
getmetatable(witness).__gc = function() print("os.exit: state closed") end
os.exit(3)
