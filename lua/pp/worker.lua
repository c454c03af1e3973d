-- pp.worker: the Lua side of a node's worker process.
--
-- Jobs are kept apart. Every job runs in a global table of its own, made fresh
-- for it by the C++ side (ppserver/worker_process.cpp) and chained to, in turn:
--   the code's environment  its dependency functions and modules (one per code);
--   the base                the standard library as read-only views, shared by
--                           every job of this Lua state (built once, never copied).
-- Setting a global therefore lasts one job, and no job can change `string`,
-- `math`, ... (or the strings' metatable) for the jobs after it. Modules are
-- loaded by the real `require` with the worker's own globals, and stay loaded:
-- that is what persists between jobs of one client. Before a job of another
-- client runs here, the node has the worker close this whole Lua state and open
-- a fresh one (WORKER_RESET), so nothing reaches another client's jobs.
--
-- Every job also sees a global `worker`: worker.id ("host:port#k", the k-th worker
-- of the node), worker.node ("host:port", as the node advertises itself) and
-- worker.state, a table kept between the jobs of one client on this worker. It
-- lives in this Lua state, so the WORKER_RESET before another client's job wipes
-- it with everything else. The table itself cannot be changed; worker.state's
-- contents can.
--
-- prepare(blob) turns a decoded code blob (docs/protocol.md, "code blob") into
-- { code_env, main, dep_1, ..., dep_n }: the functions whose environment the C++
-- side points at each new job table. Returns that, or nil and a message.
local M = {}

local loadstring, setfenv, getfenv, setmetatable, getmetatable =
  loadstring, setfenv, getfenv, setmetatable, getmetatable
local pairs, ipairs, next, type, require, pcall, tostring, error, select = pairs, ipairs, next,
  type, require, pcall, tostring, error, select
local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue
local G = _G

-- Library tables jobs see only through read-only views.
local LIBRARIES = { "string", "table", "math", "io", "os", "coroutine", "debug", "bit", "jit",
  "ffi" }

local library_of = {}   -- view -> library
local view_of = {}      -- library -> view

local function read_only(name, t)
  local view = setmetatable({}, {
    __index = t,
    __newindex = function(_, key)
      error("the standard library is shared by every job on a node and cannot be changed " ..
        "(setting " .. name .. "." .. tostring(key) .. "); keep your own version in a local " ..
        "variable or pass it in depfuncs", 2)
    end,
    __metatable = false,
  })
  library_of[view] = t
  view_of[t] = view
  return view
end

-- next and pairs that see through the views, so iterating a library still works.
-- The view, not the library, is the iteration state: a job never gets hold of it.
local function job_next(t, k)
  return next(library_of[t] or t, k)
end

local function job_pairs(t)
  if library_of[t] ~= nil then return job_next, t, nil end
  return pairs(t)
end

-- Modules load with the worker's own globals (so their globals stay theirs and
-- they see the real library); a job gets the read-only view of a library.
local function job_require(name)
  local env = getfenv(0)
  setfenv(0, G)
  local ok, mod = pcall(require, name)
  setfenv(0, env)
  if not ok then error(mod, 2) end
  return view_of[mod] or mod
end

-- getfenv as a job expects it: levels counted from the caller, and the job's own
-- table wherever the worker's globals would show.
local function job_getfenv(f)
  if f == nil then f = 1 end
  if type(f) == "number" and f > 0 then f = f + 1 end
  local env = getfenv(f)
  if env == G then return getfenv(0) end
  return env
end

-- What a job prints is captured into its output (ppserver/worker_output.cpp, which
-- leaves `print` and `write` in package.loaded["pp.worker_output"]): print, io.write
-- while the default output is the standard one, and the writes to io.stdout and
-- io.stderr, which become stand-ins for the real files. Set in the worker's own
-- library, so modules a job calls are captured too. Reading is unchanged.
local function capture_output(out)
  local io = G.io
  local real_write, real_output, real_type, real_close = io.write, io.output, io.type, io.close
  local put = out.write
  local stand_in, real_of = {}, {}   -- real file <-> its stand-in
  for _, name in ipairs({ "stdout", "stderr" }) do
    local file = io[name]
    local methods = setmetatable({
      write = function(self, ...) put(...) return self end,
      flush = function(self) return self end,
      setvbuf = function() return true end,
    }, { __index = function(_, key)   -- any other method: the real file's
      local m = file[key]
      if type(m) ~= "function" then return m end
      return function(_, ...) return m(file, ...) end
    end })
    local s = setmetatable({}, { __index = methods, __metatable = false,
      __tostring = function() return tostring(file) end })
    stand_in[file], real_of[s] = s, file
    io[name] = s
  end
  io.write = function(...)
    local current = real_output()
    local s = stand_in[current]
    if s == nil then return real_write(...) end
    put(...)
    return s
  end
  -- (io.output() and io.close() without an argument are not given a nil: that differs.)
  io.output = function(...)
    local current
    if select("#", ...) == 0 then current = real_output()
    else
      local file = ...
      current = real_output(real_of[file] or file)
    end
    return stand_in[current] or current
  end
  io.type = function(x) return real_type(real_of[x] or x) end
  io.close = function(...)
    if select("#", ...) == 0 then return real_close() end
    local file = ...
    return real_close(real_of[file] or file)
  end
  G.print = out.print
end

local captured = package.loaded["pp.worker_output"]
if captured ~= nil then capture_output(captured) end

local function build_base()
  local base = {}
  for k, v in pairs(G) do base[k] = v end
  for _, name in ipairs(LIBRARIES) do
    local ok, lib = pcall(require, name)   -- (ffi is loaded on first require)
    if ok and type(lib) == "table" then
      local view = read_only(name, lib)
      -- (ffi is not a global: jobs reach it, and its view, through require)
      if G[name] == lib then base[name] = view end
    end
  end
  base._G = nil   -- each job's own table (set by the C++ side)
  base.next, base.pairs, base.require, base.getfenv = job_next, job_pairs, job_require,
    job_getfenv
  -- ("").rep and friends use the real string table; the metatable itself is not
  -- handed out, so it cannot be changed either.
  local string_mt = getmetatable("")
  string_mt.__metatable = read_only("getmetatable('')", { __index = base.string })
  return base
end

-- The `worker` global: a read-only view (pairs sees through it) of id, node, state.
local function worker_table()
  local identity = package.loaded["pp.worker_identity"] or {}
  local fields = { id = identity.id, node = identity.node, state = {} }
  local view = setmetatable({}, {
    __index = fields,
    __newindex = function(_, key)
      error("worker." .. tostring(key) .. " is kept by the worker and cannot be replaced; " ..
        "keep what should last between jobs in worker.state (e.g. worker.state.x = ...)", 2)
    end,
    __metatable = false,
  })
  library_of[view] = fields
  return view
end

local base = build_base()
base.worker = worker_table()
local code_env_mt = { __index = base, __metatable = false }

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

local function load_modules(mods, env)
  if type(mods) ~= "table" then return nil, "code blob 'mods' is not a map" end
  for alias, modname in pairs(mods) do
    local ok, mod = pcall(require, modname)
    if not ok then
      return nil, "module '" .. tostring(modname) .. "' is not available on this node: " ..
        tostring(mod)
    end
    env[alias] = view_of[mod] or mod
  end
  return true
end

function M.prepare(blob)
  if type(blob) ~= "table" then return nil, "code blob is not a map" end
  local kind = blob.kind
  local env = setmetatable({}, code_env_mt)
  local prepared = { env, false }
  if blob.deps ~= nil then
    if type(blob.deps) ~= "table" then return nil, "code blob 'deps' is not a map" end
    for name, code in pairs(blob.deps) do
      if type(name) ~= "string" then return nil, "a dependency name is not a string" end
      local fn, err = load_function(code, kind, name, env)
      if not fn then return nil, "dependency '" .. name .. "': " .. err end
      env[name] = fn
      prepared[#prepared + 1] = fn
    end
  end
  if blob.mods ~= nil then
    local ok, err = load_modules(blob.mods, env)
    if not ok then return nil, err end
  end
  for name in pairs(blob.deps or {}) do bind_upvalues(env[name], env) end
  local main, err = load_function(blob.main, kind, blob.name or "job", env)
  if not main then return nil, err end
  bind_upvalues(main, env)
  prepared[2] = main
  return prepared
end

return M
