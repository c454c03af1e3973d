-- Twins test: pp.native (libppkernels through the FFI) must give exactly the answers of pp.pure,
-- both hot loops must stay JIT-compiled (no trace aborts, a looping trace forms), misuse must
-- raise at the caller, and pp.native's cdef must be the CDEF region of pp_kernels.h.
--
--   LUA_PATH='<build>/share/lua/5.1/?.lua;;' luajit twins_test.lua [kernels/include/pp_kernels.h]
--
-- Prints one line per failure and exits non-zero if there was any.
local ffi = require("ffi")
local jit = require("jit")
local jutil = require("jit.util")
local native = require("pp.native")
local pure = require("pp.pure")

local format = string.format
local failures, checks = 0, 0

local function check(ok, fmt, ...)
  checks = checks + 1
  if not ok then
    failures = failures + 1
    io.stderr:write("FAIL: ", format(fmt, ...), "\n")
  end
end

local function show(v)
  return type(v) == "cdata" and tostring(v) or format("%.17g", v)
end

-- The JIT checks run first: they flush all traces, and want a fresh JIT state anyway.
local ok_vmdef, vmdef = pcall(require, "jit.vmdef")  -- trace error texts, from the default path

local function func_name(func)
  local fi = jutil.funcinfo(func)
  if fi.loc then return fi.loc end
  return ok_vmdef and fi.ffid and vmdef.ffnames[fi.ffid] or tostring(func)
end

local function trace_error(code, info)
  if not (ok_vmdef and type(code) == "number" and vmdef.traceerr[code]) then
    return tostring(code) .. " " .. tostring(info)
  end
  local text = vmdef.traceerr[code]
  if type(info) == "function" then
    return format(text, func_name(info))
  elseif type(info) == "number" and text:find("bytecode") then  -- name it: 51 is FNEW
    return format(text, info) .. " " .. vmdef.bcnames:sub(info * 6 + 1, info * 6 + 6)
  end
  return format(text, info)
end

-- Runs work() with fresh traces and checks that no trace aborted or stitched (fell back to the
-- interpreter for a call LuaJIT cannot compile), and that a looping trace started in fn, the
-- function holding the hot loop.
local function check_compiled(name, fn, work)
  jit.flush()
  local started, loops, aborts = {}, 0, {}
  local function on_trace(what, tr, func, pc, code, info)
    if what == "start" then
      started[tr] = func == fn
    elseif what == "stop" then
      local link = jutil.traceinfo(tr).linktype
      if started[tr] and link == "loop" then loops = loops + 1 end
      if link == "stitch" then  -- the trace calls out to the interpreter for an uncompiled call
        aborts[#aborts + 1] = format("trace %d stitches around %s", tr, func_name(func))
      end
    elseif what == "abort" then
      local where = jutil.funcinfo(func, pc)
      aborts[#aborts + 1] = format("%s: %s", where.loc or "?", trace_error(code, info))
    end
  end
  jit.attach(on_trace, "trace")
  local ok, err = pcall(work)
  jit.attach(on_trace)
  check(ok, "%s: the workload failed: %s", name, tostring(err))
  check(#aborts == 0, "%s: %d trace abort(s) or stitch(es) in the hot loop:\n  %s", name, #aborts,
        table.concat(aborts, "\n  "))
  check(loops > 0, "%s: no looping trace was compiled for the hot loop", name)
end

check(jit.status(), "the JIT compiler is off (jit.status() is false); the JIT checks need it")

check_compiled("pure.mc_pi_hits", pure.mc_pi_hits, function() pure.mc_pi_hits(20000, 1) end)
check_compiled("pure.count_primes", pure.count_primes, function() pure.count_primes(0, 2e6) end)
local function native_loop()
  local total = 0
  for i = 1, 3000 do
    total = total + native.mc_pi_hits(4, i) + native.count_primes(i, i + 30)
  end
  return total
end
check_compiled("native wrappers called in a loop", native_loop, native_loop)

-- ABI and the generated cdef.
check(native.abi_version == 1, "native.abi_version is %s, expected 1", tostring(native.abi_version))
check(native.lib.pp_kernels_abi_version() == native.abi_version, "library ABI differs")

local header_path = arg and arg[1]
if header_path then
  local f = assert(io.open(header_path, "r"))
  local header = f:read("*a")
  f:close()
  local region = header:match("/%* PP_CDEF_BEGIN %*/\n(.-)/%* PP_CDEF_END %*/")
  check(region ~= nil, "%s: no CDEF region", header_path)
  local function normal(s) return (s:gsub("[ \t]*PP_NOEXCEPT", ""):gsub("^%s+", ""):gsub("%s+$", "")) end
  check(region and normal(region) == normal(native.cdef),
        "pp.native's cdef differs from the CDEF region of %s: rebuild to regenerate it", header_path)
else
  io.stderr:write("note: no header path given, skipping the cdef comparison\n")
end

-- splitmix64: the pure step against the library's.
for _, seed in ipairs({0ULL, 1ULL, 42ULL, 0xFFFFFFFFFFFFFFFFULL, 0x8000000000000000ULL}) do
  local box = ffi.new("uint64_t[1]", seed)
  local state = seed
  for _ = 1, 50 do
    local z
    z, state = pure.splitmix64(state)
    local want = native.lib.pp_splitmix64(box)
    if z ~= want or state ~= box[0] then
      check(false, "splitmix64 from seed %s: pure %s, native %s", show(seed), show(z), show(want))
      break
    end
  end
end
check(pure.splitmix64(0) == 0xe220a8397b1dcdafULL, "splitmix64(0) is not the published value")

-- mc_pi_hits.
for _, case in ipairs({{0, 0}, {1, 0}, {2, 7}, {1000, 1}, {12345, 0xDEADBEEFULL},
                       {100000, 2 ^ 53}, {5000, 0xFFFFFFFFFFFFFFFFULL}, {3000, 99LL}}) do
  local samples, seed = case[1], case[2]
  local n, p = native.mc_pi_hits(samples, seed), pure.mc_pi_hits(samples, seed)
  check(n == p and type(n) == "number", "mc_pi_hits(%s, %s): native %s, pure %s",
        show(samples), show(seed), show(n), show(p))
end
local hits = native.mc_pi_hits(1e6, 2024)
check(math.abs(4 * hits / 1e6 - math.pi) < 0.01, "mc_pi_hits(1e6) gives pi = %g", 4 * hits / 1e6)

-- count_primes, including ranges the native side counts by Miller-Rabin (narrow or high).
local ranges = {{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 2}, {2, 3}, {2, 4}, {3, 3}, {10, 5},
                {0, 100}, {100, 200}, {0, 1e6}, {999000, 1e6}, {1e12, 1e12 + 1e5},
                {2 ^ 53 - 200, 2 ^ 53}, {0ULL, 1000ULL}}
for i = 0, 40 do
  ranges[#ranges + 1] = {1e9 + 7 * i, 1e9 + 7 * i + i % 13}
end
for _, r in ipairs(ranges) do
  local n, p = native.count_primes(r[1], r[2]), pure.count_primes(r[1], r[2])
  check(n == p and type(n) == "number", "count_primes(%s, %s): native %s, pure %s",
        show(r[1]), show(r[2]), show(n), show(p))
end
check(pure.count_primes(0, 100) == 25 and native.count_primes(0, 1e6) == 78498, "known counts")

-- Misuse raises, blaming the caller's line.
local function raises_here(f, pattern, ...)
  local ok, err = pcall(f, ...)
  check(not ok and tostring(err):find("twins_test%.lua:%d+: " .. pattern) ~= nil,
        "expected an error at the caller matching %q, got %s", pattern, tostring(err))
end
for name, mod in pairs({native = native, pure = pure}) do
  local prefix = "pp%." .. name .. "%."
  raises_here(function() local _ = mod.count_primes(-1, 5) end, prefix .. "count_primes: lo")
  raises_here(function() local _ = mod.count_primes(0, 1.5) end, prefix .. "count_primes: hi")
  raises_here(function() local _ = mod.count_primes(0, "7") end, prefix .. "count_primes: hi")
  raises_here(function() local _ = mod.mc_pi_hits(0 / 0, 1) end, prefix .. "mc_pi_hits: samples")
  raises_here(function() local _ = mod.mc_pi_hits(1, -1LL) end, prefix .. "mc_pi_hits: seed")
  raises_here(function() local _ = mod.mc_pi_hits(2 ^ 54, 1) end, prefix .. "mc_pi_hits: samples")
end
raises_here(function() local _ = pure.count_primes(0, 0x20000000000002ULL) end, "pp%.pure%.count_primes: hi")

-- Loading: a wrong PP_KERNELS, and a library whose ABI differs from the generated module's.
-- Both run pp.native's source again in this process, with a patched environment or source.
local module_path = package.searchpath("pp.native", package.path)
local f = assert(io.open(module_path, "r"))
local source = f:read("*a")
f:close()

local fake_os = setmetatable({getenv = function(name)
  if name == "PP_KERNELS" then return "/nonexistent/libppkernels.so" end
  return os.getenv(name)
end}, {__index = os})
local chunk = assert(loadstring(source, "@" .. module_path))
setfenv(chunk, setmetatable({os = fake_os}, {__index = _G}))
local ok, err = pcall(chunk)
check(not ok and tostring(err):find("cannot load /nonexistent/libppkernels.so", 1, true) ~= nil,
      "a bad PP_KERNELS gave: %s", tostring(err))

local patched, n = source:gsub("local ABI_VERSION = %d+", "local ABI_VERSION = 999")
check(n == 1, "cannot find the ABI version line in %s", module_path)
ok, err = pcall(assert(loadstring(patched, "@" .. module_path)))
check(not ok and tostring(err):find("ABI version 1 but this module was generated for version 999",
                                    1, true) ~= nil, "ABI mismatch gave: %s", tostring(err))

if failures > 0 then
  io.stderr:write(format("%d of %d checks failed\n", failures, checks))
  os.exit(1)
end
print(format("twins_test: all %d checks passed", checks))
