-- pp.options: the one check of option tables in the driver API (pp.server{...},
-- js:submit{...}, js:wait's and as_completed's options): a key that is not an option is
-- an error naming it and, when it is close to one, the option meant.
local type, pairs, ipairs, error, tostring = type, pairs, ipairs, error, tostring
local string_format = string.format
local math_min, math_max, math_floor, math_huge = math.min, math.max, math.floor, math.huge
local table_concat = table.concat

local M = {}

-- Levenshtein distance between two short strings.
local function edit_distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math_min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- How many leading characters a and b share.
local function common_prefix(a, b)
  local n = 0
  while n < #a and n < #b and a:byte(n + 1) == b:byte(n + 1) do n = n + 1 end
  return n
end

-- A set of the names in `list`, with the list kept for messages.
function M.names(list)
  local set = {}
  for _, name in ipairs(list) do set[name] = true end
  return { set = set, list = list }
end

-- Raises at `level` for the first key of `opts` that is not in `known` (made by
-- M.names), unless `positional(k)` accepts it. `where` names the call ("pp.server{...}").
function M.check(opts, known, where, level, positional)
  for k in pairs(opts) do
    if not known.set[k] and not (positional and positional(k)) then
      if type(k) ~= "string" then
        error(string_format("%s takes named options, not a value at [%s]", where, tostring(k)),
          level + 1)
      end
      -- The nearest name, a long shared beginning counting as near ("retry", "retries").
      local best, best_d = nil, math_huge
      for _, name in ipairs(known.list) do
        local d = edit_distance(k:lower(), name)
        if common_prefix(k:lower(), name) >= 4 then d = math_min(d, 1) end
        if d < best_d then best, best_d = name, d end
      end
      local hint = best_d <= math_max(2, math_floor(#k / 3)) and
        string_format("did you mean '%s'?", best) or
        "known options: " .. table_concat(known.list, ", ")
      error(string_format("unknown option '%s' in %s; %s", k, where, hint), level + 1)
    end
  end
end

-- A number of seconds >= 0 (nil stays nil); raises at `level` otherwise.
function M.seconds(v, what, level)
  if v == nil then return nil end
  if type(v) ~= "number" or v ~= v or v < 0 then
    error(string_format("%s must be a number of seconds >= 0, got %s", what,
      type(v) == "number" and tostring(v) or type(v)), level + 1)
  end
  return v
end

return M
