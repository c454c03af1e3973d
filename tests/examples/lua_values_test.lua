-- Values between a Lua driver and its jobs (run by `ppclient run`): 64-bit integer
-- cdata both ways, nil arguments with args.n, args.n checked at submit, raised
-- tables in the error's value, messages that name the argument or return value,
-- and pp.server{...} refusing an option it does not know.
local pp = require "pp"
local ffi = require "ffi"

local function check(cond, what)
  if not cond then error("check failed: " .. what, 2) end
end
local function is_int64(v) return ffi.istype("int64_t", v) end
local function is_uint64(v) return ffi.istype("uint64_t", v) end
-- An error raised at the line of this script that made the call.
local function at_caller(msg, text)
  return msg:find("lua_values_test%.lua:%d+: " .. text) ~= nil
end

local js = pp.server{ ncpus = 1 }

-- 64-bit integers: exact both ways, as cdata when a double cannot hold them.
local big = js:submit(function() return 2LL^62 + 1 end)()
check(is_int64(big) and big == 2LL^62 + 1, "a job returning 2LL^62+1 gets it back exactly")
local function echo(...) return ... end
local a, b, c = js:submit(echo, { 0xffffffffffffffffULL, -2LL^63 + 1, 2LL^53 + 1 })()
check(is_uint64(a) and a == 0xffffffffffffffffULL, "uint64_t argument and result")
check(is_int64(b) and b == -2LL^63 + 1, "negative int64_t argument and result")
check(is_int64(c) and c == 2LL^53 + 1, "2^53+1 argument and result")
local function add_one(x) return x + 1, tostring(x) end
local sum, seen = js:submit(add_one, { 2LL^62 + 1 })()
check(sum == 2LL^62 + 2 and seen == "4611686018427387905LL", "the job sees an int64_t cdata")
local t = js:submit(echo, { { n = { 2LL^53 + 1, x = 0xfffffffffffffffeULL } } })()
check(is_int64(t.n[1]) and t.n[1] == 2LL^53 + 1 and is_uint64(t.n.x), "nested in tables")
-- What a double holds exactly comes back as a number (msgpack ints carry no C type).
local five = js:submit(function() return 5LL end)()
check(type(five) == "number" and five == 5, "5LL comes back as the number 5")
local ok_cd, msg_cd = pcall(function() js:submit(echo, { ffi.new("int32_t", 1) }) end)
check(not ok_cd and msg_cd:find("only int64_t and uint64_t cdata travel", 1, true)
  and msg_cd:find("(argument 1)", 1, true), "other cdata refused: " .. tostring(msg_cd))

-- Nil arguments travel when args.n says how many there are.
local function count(...) return select("#", ...), ... end
local n, x, y, z = js:submit(count, { 1, nil, 3, n = 3 })()
check(n == 3 and x == 1 and y == nil and z == 3, "{1, nil, 3, n = 3} gives three arguments")
check(js:submit(count, { n = 2 })() == 2, "{n = 2} gives two nil arguments")
check(js:submit(count, { 1, 2 })() == 2, "without n, #args arguments")
for _, bad in ipairs{ { args = { n = -1 }, says = "got -1" },
                      { args = { 1, n = 1.5 }, says = "got 1.5" },
                      { args = { n = "3" }, says = "got a string" },
                      { args = { 1, nil, 3, n = 2 }, says = "args.n is 2 but args[3] is set" } } do
  local ok, msg = pcall(function() js:submit(count, bad.args) end)
  check(not ok and msg:find(bad.says, 1, true) and at_caller(msg, "submit: "),
    "bad n refused at submit, at the caller's line: " .. tostring(msg))
end

-- Messages name the argument or the return value, not "args[1]".
local ok_arg, msg_arg = pcall(function() js:submit(echo, { 1, { f = print } }) end)
check(not ok_arg and msg_arg:find("cannot send a function value (argument 2, at .f)", 1, true),
  "argument named: " .. tostring(msg_arg))
local _, err_ret = js:submit(function() return print end):result()
check(err_ret and err_ret.message:find("cannot send a function value (return value 1)", 1, true),
  "return value named: " .. tostring(err_ret))

-- A raised table comes back as the error's value; its __tostring is the message.
local _, e1 = js:submit(function() error({ code = 42, big = 2LL^62 + 1 }) end):result()
check(getmetatable(e1) == pp.RemoteError and e1.kind == "lua error", "a RemoteError")
check(type(e1.value) == "table" and e1.value.code == 42 and e1.value.big == 2LL^62 + 1,
  "the raised table is the error's value")
check(e1.message:find("table value", 1, true) and e1.traceback:find("stack traceback", 1, true),
  "message and traceback: " .. e1.message)
local function raise_shown(code)
  error(setmetatable({ code = code }, { __tostring = function(t) return "failure " .. t.code end }))
end
local ok2, e2 = pcall(function() return js:submit(raise_shown, { 7 })() end)
check(not ok2 and e2.message == "failure 7" and e2.value.code == 7, "__tostring is the message")
check(tostring(e2):find("failure 7", 1, true), "the error's text shows it")
local _, e3 = js:submit(function() error("text") end):result()
check(e3.value == nil and e3.message:find("text", 1, true), "a string error has no value")
local _, e4 = js:submit(function() error({ f = print }) end):result()
check(e4.value == nil and e4.message:find("cannot be sent back", 1, true)
  and e4.message:find("(error value, at .f)", 1, true), "unsendable value: " .. e4.message)

-- pp.server{...}: an unknown option is an error at the caller's line, with a suggestion.
local ok5, msg5 = pcall(function() pp.server{ ppserver = { "x" } } end)
check(not ok5 and at_caller(msg5, "unknown option") and msg5:find(
  "unknown option 'ppserver' in pp.server{...}; did you mean 'ppservers'?", 1, true),
  "unknown option: " .. tostring(msg5))
local ok6, msg6 = pcall(function() pp.server{ colour = "red" } end)
check(not ok6 and msg6:find("known options: ncpus, ppservers", 1, true), "no near option: " ..
  tostring(msg6))

js:destroy()
print("lua values: all ok")
