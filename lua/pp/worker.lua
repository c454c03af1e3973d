-- pp.worker: the Lua side of a node's worker process.
--
-- prepare(blob) turns a decoded code blob (docs/protocol.md, "code blob") into
-- the job function, with its dependency functions and modules installed in a
-- private environment shared by the jobs of that code on this worker.
-- Returns the function, or nil and a message saying what is wrong.
local M = {}

local loadstring, setfenv, setmetatable, pairs, type, require, pcall, tostring =
  loadstring, setfenv, setmetatable, pairs, type, require, pcall, tostring
local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue
local G = _G

local function load_function(code, kind, name, env)
  if type(code) ~= "string" then
    return nil, "the code of '" .. name .. "' is not a string"
  end
  if kind == "source" then
    local chunk, err = loadstring("return " .. code, "=" .. name)
    if not chunk then return nil, err end
    setfenv(chunk, env)
    local ok, fn = pcall(chunk)
    if not ok then return nil, tostring(fn) end
    if type(fn) ~= "function" then
      return nil, "the source of '" .. name .. "' does not evaluate to a function"
    end
    return fn
  elseif kind == "bytecode" then
    local fn, err = loadstring(code, "=" .. name)
    if not fn then return nil, err end
    setfenv(fn, env)
    return fn
  end
  return nil, "unknown code kind '" .. tostring(kind) .. "'"
end

-- Upvalues of shipped functions arrive empty; the client allowed only those
-- named like a dependency or module alias, so bind them to those.
local function bind_upvalues(fn, env)
  for i = 1, 255 do
    local name = getupvalue(fn, i)
    if name == nil then return end
    setupvalue(fn, i, env[name])
  end
end

function M.prepare(blob)
  if type(blob) ~= "table" then return nil, "code blob is not a map" end
  local kind = blob.kind
  local env = setmetatable({}, { __index = G })
  if blob.deps ~= nil then
    if type(blob.deps) ~= "table" then return nil, "code blob 'deps' is not a map" end
    for name, code in pairs(blob.deps) do
      if type(name) ~= "string" then return nil, "a dependency name is not a string" end
      local fn, err = load_function(code, kind, name, env)
      if not fn then return nil, "dependency '" .. name .. "': " .. err end
      env[name] = fn
    end
  end
  if blob.mods ~= nil then
    if type(blob.mods) ~= "table" then return nil, "code blob 'mods' is not a map" end
    for alias, modname in pairs(blob.mods) do
      local ok, mod = pcall(require, modname)
      if not ok then
        return nil, "module '" .. tostring(modname) .. "' is not available on this node: " ..
          tostring(mod)
      end
      env[alias] = mod
    end
  end
  for name in pairs(blob.deps or {}) do bind_upvalues(env[name], env) end
  local main, err = load_function(blob.main, kind, blob.name or "job", env)
  if main then bind_upvalues(main, env) end
  return main, err
end

return M
