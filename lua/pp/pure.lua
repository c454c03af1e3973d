-- pp.pure: pure-LuaJIT twins of the native kernels in pp.native (libppkernels).
--
-- Each function follows the contract stated in kernels/include/pp_kernels.h and gives exactly
-- the native answer: splitmix64 runs on uint64_t cdata (LuaJIT wraps their products mod 2^64 and
-- its bit library shifts them as 64-bit values), and floating point is plain IEEE double, as in
-- the library built with -ffp-contract=off. The hot loops use only operations LuaJIT compiles,
-- which tests/unit/kernels/twins_test.lua checks. Use these where the library is missing, or as
-- the reference a native kernel is tested against.
--
-- Integer arguments are Lua numbers (integers in [0, 2^53]) or uint64_t / non-negative int64_t
-- cdata; count_primes needs its bounds, and mc_pi_hits its sample count, to be at most 2^53.
--
--   local pure = require("pp.pure")
--   local hits = pure.mc_pi_hits(1e6, 42)
--   local n = pure.count_primes(0, 1e6)      -- 78498
local ffi = require("ffi")
local bit = require("bit")

local error, tonumber, tostring, type = error, tonumber, tostring, type
local floor, min, sqrt = math.floor, math.min, math.sqrt
local format = string.format
local bxor, rshift = bit.bxor, bit.rshift
local ffi_fill, ffi_istype, ffi_new = ffi.fill, ffi.istype, ffi.new

local pure = {}

local u64_t = ffi.typeof("uint64_t")
local i64_t = ffi.typeof("int64_t")
local flags_t = ffi.typeof("uint8_t[?]")
local MAX_EXACT = 2 ^ 53
local TWO_TO_MINUS_53 = 2 ^ -53
local SEGMENT_ODDS = 2 ^ 18  -- odd numbers per sieve segment, as in the native sieve

-- v as a uint64_t cdata if it is a non-negative integer argument, else nil.
local function to_u64(v)
  if type(v) == "number" then
    if v >= 0 and v <= MAX_EXACT and floor(v) == v then
      return 0ULL + v
    end
  elseif ffi_istype(u64_t, v) or (ffi_istype(i64_t, v) and v >= 0) then
    return 0ULL + v
  end
  return nil
end

-- v as a uint64_t cdata, or raises at the caller of the public function.
local function check_u64(v, func, name)
  local u = to_u64(v)
  if not u then
    error(format("pp.pure.%s: %s must be a non-negative integer (a number up to 2^53 or a "
                 .. "uint64_t), got %s", func, name, tostring(v)), 3)
  end
  return u
end

-- v as an exact Lua number, or raises at the caller of the public function.
local function check_exact(v, func, name)
  local u = to_u64(v)
  if not u or u > MAX_EXACT then
    error(format("pp.pure.%s: %s must be an integer in [0, 2^53], got %s",
                 func, name, tostring(v)), 3)
  end
  return tonumber(u)
end

-- One splitmix64 step: returns the output and the advanced state (both uint64_t cdata).
local function splitmix64(state)
  state = state + 0x9E3779B97F4A7C15ULL
  local z = state
  z = bxor(z, rshift(z, 30)) * 0xBF58476D1CE4E5B9ULL
  z = bxor(z, rshift(z, 27)) * 0x94D049BB133111EBULL
  return bxor(z, rshift(z, 31)), state
end

-- pp_splitmix64 without the pointer: returns (output, next_state).
function pure.splitmix64(state)
  return splitmix64(check_u64(state, "splitmix64", "state"))
end

-- The number of samples whose point falls in the quarter disc (see pp_mc_pi_hits).
function pure.mc_pi_hits(samples, seed)
  samples = check_exact(samples, "mc_pi_hits", "samples")
  local state = check_u64(seed, "mc_pi_hits", "seed")
  local hits = 0
  for _ = 1, samples do
    local rx, ry
    rx, state = splitmix64(state)
    ry, state = splitmix64(state)
    local x = tonumber(rshift(rx, 11)) * TWO_TO_MINUS_53
    local y = tonumber(rshift(ry, 11)) * TWO_TO_MINUS_53
    if x * x + y * y <= 1.0 then
      hits = hits + 1
    end
  end
  return hits
end

-- floor(sqrt(n)) exactly, for integers n <= 2^53.
local function isqrt(n)
  local r = floor(sqrt(n))
  while r * r > n do r = r - 1 end
  while (r + 1) * (r + 1) <= n do r = r + 1 end
  return r
end

-- The odd primes <= n in an array, and their count (a plain odd-only sieve).
local function odd_primes_upto(n)
  local primes, np = {}, 0
  local m = floor((n - 1) / 2)  -- index i stands for 2i + 1
  if m < 1 then
    return primes, 0
  end
  local composite = ffi_new(flags_t, m + 1)
  for i = 1, m do
    if composite[i] == 0 then
      local p = 2 * i + 1
      np = np + 1
      primes[np] = p
      for j = (p * p - 1) / 2, m, p do composite[j] = 1 end
    end
  end
  return primes, np
end

-- Index, in the segment of odd numbers from odd seg_lo, of p's first odd multiple >= max(p*p, seg_lo).
local function first_offset(p, seg_lo)
  local start = p * p
  if start < seg_lo then
    local r = seg_lo % p
    start = r == 0 and seg_lo or seg_lo + (p - r)
    if start % 2 == 0 then start = start + p end
  end
  return (start - seg_lo) / 2
end

-- The number of primes p with lo <= p < hi: the native segmented odd-only sieve, always (its base
-- primes take about sqrt(hi) / 2 bytes, 47 MiB at hi = 2^53; the native side switches to
-- Miller-Rabin where that would cost more than the range).
function pure.count_primes(lo, hi)
  lo = check_exact(lo, "count_primes", "lo")
  hi = check_exact(hi, "count_primes", "hi")
  if hi <= lo then
    return 0
  end
  local count = (lo <= 2 and 2 < hi) and 1 or 0
  local seg_lo = lo < 3 and 3 or lo + 1 - lo % 2
  if seg_lo >= hi then
    return count
  end
  local primes, np = odd_primes_upto(isqrt(hi - 1))
  local next_offset, active = {}, 0
  local flags = ffi_new(flags_t, min(SEGMENT_ODDS, floor((hi - seg_lo + 1) / 2)))
  while seg_lo < hi do
    local len = min(SEGMENT_ODDS, floor((hi - seg_lo + 1) / 2))
    local seg_end = seg_lo + 2 * len
    ffi_fill(flags, len, 0)
    while active < np and primes[active + 1] * primes[active + 1] < seg_end do
      active = active + 1
      next_offset[active] = first_offset(primes[active], seg_lo)
    end
    for i = 1, active do
      local p, k = primes[i], next_offset[i]
      while k < len do
        flags[k] = 1
        k = k + p
      end
      next_offset[i] = k - len
    end
    for k = 0, len - 1 do
      if flags[k] == 0 then count = count + 1 end
    end
    seg_lo = seg_end
  end
  return count
end

return pure
