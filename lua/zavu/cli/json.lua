-- zavu.cli.json: values as JSON for --json. lua-cjson escapes strings and
-- writes numbers; the walk is ours so that keys come out sorted (the same
-- data prints the same) and an empty list prints as [] (cjson 2.1 has no
-- empty_array), marked with M.array. Strings are cjson's, then made safe
-- for a terminal: C1 controls and bidirectional overrides written as \u
-- escapes (cjson writes their UTF-8 bytes), and a byte that is not UTF-8 as
-- \ufffd, the replacement character (JSON is UTF-8, as Go's encoder does).
local cjson = require("cjson.safe").new()
local text = require "zavu.cli.text"

local M = {}

local ARRAY = {}

-- cjson escapes C0 controls and DEL itself: what is left is over 0x7F.
local function escape(cp) return cp and ("\\u%04x"):format(cp) or "\\ufffd" end

local function string_json(s) return text.map(cjson.encode(s), escape) end

--- t marked as a JSON array, even when empty.
function M.array(t) return setmetatable(t or {}, ARRAY) end

local function is_array(t)
  if getmetatable(t) == ARRAY then return true end
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then return false end
    n = n + 1
  end
  return n > 0 and n == #t
end

local function encode(v, out, depth)
  local t = type(v)
  if t == "table" then
    if depth > 64 then
      out[#out + 1] = "null"
      return
    end
    if is_array(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out, depth + 1)
      end
      out[#out + 1] = "]"
      return
    end
    local keys = {}
    for k in pairs(v) do
      keys[#keys + 1] = tostring(k)
    end
    table.sort(keys)
    out[#out + 1] = "{"
    for i, k in ipairs(keys) do
      if i > 1 then out[#out + 1] = "," end
      local value = v[k]
      if value == nil then value = v[tonumber(k)] end
      out[#out + 1] = string_json(k)
      out[#out + 1] = ":"
      encode(value, out, depth + 1)
    end
    out[#out + 1] = "}"
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      out[#out + 1] = "null"
    elseif v % 1 == 0 and math.abs(v) < 2 ^ 53 then
      out[#out + 1] = ("%d"):format(v)
    else
      out[#out + 1] = ("%.17g"):format(v)
    end
  elseif t == "string" then
    out[#out + 1] = string_json(v)
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  else
    out[#out + 1] = "null"
  end
end

--- v as one line of JSON.
function M.encode(v)
  local out = {}
  encode(v, out, 0)
  return table.concat(out)
end

--- The plain fields of an error table (no metatable, no functions).
function M.error_fields(err)
  local e = {}
  for _, k in ipairs {
    "status",
    "code",
    "message",
    "details",
    "request_id",
    "retryable",
    "retry_after",
    "attempts",
    "lastError",
    "session",
  } do
    e[k] = err[k]
  end
  return e
end

return M
