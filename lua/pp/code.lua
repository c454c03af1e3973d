-- pp.code: a job's function and what it needs on the node (depfuncs, modules), made into
-- the code blob that travels (pp.core.code_blob, ppclient/src/code_blob.hpp).
--
-- Functions travel as LuaJIT bytecode, so they may not use upvalues (locals from outside
-- them) unless an upvalue names a dependency function or a module alias: those are bound
-- on the node. depfuncs come named ({sq = sq}) or as a plain list ({sq}), Parallel
-- Python's way: a listed function is bound under the name by which the job function, or
-- another dependency, refers to it (its upvalue, found by identity), or under its global
-- name when the code uses that global; a listed function nothing uses is an error.
local core_code_blob = require("pp.core").code_blob

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local string_dump, string_format, string_find = string.dump, string.format, string.find
local debug_getupvalue, debug_getinfo = debug.getupvalue, debug.getinfo

local M = {}

local function describe(fn)
  local info = debug_getinfo(fn, "S")
  return string_format("%s:%d", info.short_src or "?", info.linedefined or 0)
end
M.describe = describe

-- nil when `fn` needs nothing beyond `provided`; else the refusal, with advice.
local function unportable(fn, what, provided)
  for i = 1, 255 do
    local name = debug_getupvalue(fn, i)
    if name == nil then return nil end
    if not provided[name] then
      return string_format("%s (defined at %s) uses the upvalue '%s', a local variable from " ..
        "outside the function; jobs run on other machines, so pass the value as an argument " ..
        "(or a function in depfuncs, a module in modules)", what, describe(fn), name)
    end
  end
end

local function global_name_of(fn)
  for k, v in pairs(_G) do
    if v == fn and type(k) == "string" then return k end
  end
end

-- The names under which the functions of `users` refer to `f`: upvalues holding it,
-- else its global name when one of their bytecodes mentions that name.
local function names_of(f, users)
  local names = {}
  for _, u in ipairs(users) do
    if u ~= f then
      for i = 1, 255 do
        local name, value = debug_getupvalue(u, i)
        if name == nil then break end
        if value == f then names[#names + 1] = name end
      end
    end
  end
  if #names > 0 then return names end
  local global = global_name_of(f)
  if global then
    for _, u in ipairs(users) do
      if u ~= f and string_find(string_dump(u), global, 1, true) then return { global } end
    end
  end
  return names
end

-- depfuncs as name -> function; nil and a message on misuse.
local function dependency_names(fn, depfuncs)
  if type(depfuncs) ~= "table" then
    return nil, "depfuncs must be a table of functions ({sq} or {sq = sq}), got " .. type(depfuncs)
  end
  local named, listed, users = {}, {}, { fn }
  for k, f in pairs(depfuncs) do
    if type(f) ~= "function" then
      return nil, string_format("depfuncs[%s] must be a function, got %s", tostring(k), type(f))
    end
    if type(k) == "string" then
      named[k] = f
    elseif type(k) == "number" then
      listed[#listed + 1] = { k, f }
    else
      return nil, "depfuncs keys must be names or list positions, got a " .. type(k)
    end
    users[#users + 1] = f
  end
  for _, entry in ipairs(listed) do
    local names = names_of(entry[2], users)
    if #names == 0 then
      return nil, string_format("depfuncs[%d] (defined at %s) is not used by the job function " ..
        "(defined at %s) nor by another of its depfuncs; remove it, or name it: " ..
        "depfuncs = {name = f}", entry[1], describe(entry[2]), describe(fn))
    end
    for _, name in ipairs(names) do named[name] = entry[2] end
  end
  return named
end

-- modules as alias -> module name; nil and a message on misuse.
local function module_aliases(modules)
  if type(modules) ~= "table" then
    return nil, "modules must be a table of module names ({\"pp.native\"}), got " .. type(modules)
  end
  local mods = {}
  for k, m in pairs(modules) do
    if type(m) ~= "string" then
      return nil, string_format("modules[%s] must be a module name, got %s", tostring(k), type(m))
    end
    mods[type(k) == "number" and m:match("([^%.]+)$") or k] = m
  end
  return mods
end

-- The code blob of `fn` with its depfuncs and modules (either may be nil); nil and a
-- message when something cannot travel.
function M.blob(fn, depfuncs, modules)
  local dep_fns, mods, provided = {}, {}, {}
  local err
  if depfuncs ~= nil then
    dep_fns, err = dependency_names(fn, depfuncs)
    if not dep_fns then return nil, err end
  end
  if modules ~= nil then
    mods, err = module_aliases(modules)
    if not mods then return nil, err end
  end
  for name in pairs(dep_fns) do provided[name] = true end
  for alias in pairs(mods) do provided[alias] = true end
  err = unportable(fn, "the job function", provided)
  if err then return nil, err end
  local deps = {}
  for name, f in pairs(dep_fns) do
    err = unportable(f, "dependency '" .. name .. "'", provided)
    if err then return nil, err end
    deps[name] = string_dump(f)
  end
  return core_code_blob("bytecode", describe(fn), string_dump(fn), deps, mods)
end

return M
