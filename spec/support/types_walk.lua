-- Reading the LuaLS definitions in types/ and walking live tables against
-- them, for spec/rock/types_spec.lua (under busted, and in a LuaJIT child for
-- zavu.nvim, which loads only where functions can be dumped without _ENV).
local W = {}

W.root = os.getenv("ZAVU_TEST_ROOT") or "."

-- "egress_nodes" -> "EgressNodes", as scripts/gen-types names resource classes.
function W.camel(s)
  return (s:gsub("^%l", string.upper):gsub("_(%l)", function(c) return c:upper() end))
end

-- { [class] = { [member] = true | "function" } } from a meta file: `---@class X`
-- then `local L = {}` names L for X; `---@field f` and `function L.f(` are members.
function W.members_of(path)
  local f = assert(io.open(W.root .. "/" .. path))
  local text = f:read("*a")
  f:close()
  local classes, local_class, current = {}, {}, nil
  for line in text:gmatch("[^\n]+") do
    local class = line:match("^%-%-%-@class ([%w_.]+)")
    if class then
      current = class
      classes[class] = classes[class] or {}
    end
    local field = line:match("^%-%-%-@field ([%w_]+)%?? ")
    if field and current then classes[current][field] = true end
    local var = line:match("^local ([%w_]+) = {}$")
    if var and current then local_class[var] = current end
    local owner, fname = line:match("^function ([%w_]+)%.([%w_]+)%(")
    if owner then
      assert(local_class[owner], path .. ": function of an unknown table " .. owner)
      classes[local_class[owner]][fname] = "function"
    end
  end
  return classes
end

-- Adds to `missing` every function (and every other field) of the live table t
-- that class lacks; a table that is a resource (sessions, egress_nodes) is
-- checked against <prefix>.<Resource>. Names in `internal` are skipped.
function W.walk(defs, t, class, prefix, internal, missing)
  assert(defs[class], "no class " .. class)
  local function entry(k, v)
    local resource = type(k) == "string" and defs[prefix .. "." .. W.camel(k)]
    if type(v) == "table" and resource then
      for name, f in pairs(v) do
        if type(f) == "function" and resource[name] ~= "function" then
          missing[#missing + 1] = ("%s.%s.%s"):format(class, k, name)
        end
      end
      if not defs[class][k] then missing[#missing + 1] = class .. "." .. k .. " (field)" end
    elseif type(v) == "function" then
      if defs[class][k] ~= "function" then missing[#missing + 1] = class .. "." .. k end
    elseif not defs[class][k] then
      missing[#missing + 1] = class .. "." .. tostring(k) .. " (field)"
    end
  end
  for k, v in pairs(t) do
    if not internal[k] then entry(k, v) end -- internal: not for users (doc/api.lua says why)
  end
  return missing
end

-- The functions class defines that the live table t does not have.
function W.reverse(defs, class, t)
  local stale = {}
  for name, kind in pairs(defs[class]) do
    if kind == "function" and type(t[name]) ~= "function" then stale[#stale + 1] = class .. "." .. name end
  end
  return stale
end

function W.none(list, what)
  table.sort(list)
  assert(#list == 0, what .. ": " .. table.concat(list, ", "))
end

return W
