-- zavu.options: an options table checked against the names a function takes.
-- A Lua table accepts any key, so a misspelt option would silently do
-- nothing; here an unknown name raises at the caller's line, with the known
-- name nearest to it: unknown option 'tolerence' to 'verify' (did you mean 'tolerance'?).
local M = {}

-- Edits (insert, delete, replace, swap two neighbours) from a to b.
local function distance(a, b)
  local la, lb = #a, #b
  local d = {}
  for i = 0, la do
    d[i] = { [0] = i }
  end
  for j = 1, lb do
    d[0][j] = j
  end
  for i = 1, la do
    for j = 1, lb do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[la][lb]
end

local function sorted(known)
  local names = {}
  for k in pairs(known) do
    names[#names + 1] = k
  end
  table.sort(names)
  return names
end

--- The known name nearest to name (a third of its letters wrong at most, or
-- the same letters in another case), or nil.
function M.nearest(name, known)
  if type(name) ~= "string" or #name > 64 then return nil end
  local best, best_d
  for _, k in ipairs(sorted(known)) do
    local d = k:lower() == name:lower() and 0 or distance(name, k)
    if d <= math.max(1, math.floor(#k / 3)) and (not best_d or d < best_d) then
      best, best_d = k, d
    end
  end
  return best
end

--- Raise (at `level`, as error() counts it from the function calling this)
-- when opts holds a key that is not in known ({ name = true }).
function M.check_names(fname, opts, known, level)
  for k in pairs(opts) do
    if not known[k] then
      local shown = type(k) == "string" and ("'" .. k:gsub("[%c]", "?") .. "'") or ("[" .. tostring(k) .. "]")
      local near = M.nearest(k, known)
      local hint = near and ("did you mean '" .. near .. "'?") or ("known: " .. table.concat(sorted(known), ", "))
      error(("unknown option %s to '%s' (%s)"):format(shown, fname, hint), level + 1)
    end
  end
end

return M
