-- zavu.schema: a call's tables checked against their description before
-- anything is sent - the names an options table, a query or a body may
-- hold, and (zavu.operations) each field's JSON type, presence and bounds.
-- Misuse raises without a position: the public functions raise the message
-- again at their caller's line.
--
-- What is read: the keys a table itself holds are enumerated raw (next, no
-- __pairs); a value is read by its known name, through __index when the
-- table has one. A body is sent as it was checked: a fresh table of the
-- described fields, so a value only __index gives is sent too.
local core = require "zavu.core"

local M = {}

--- zavu.null: a JSON null in what is sent (a field described `nullable`:
-- `webhookUrl = zavu.null` removes a sender's webhook). It is lua-cjson's
-- null, a NULL light userdata, as OpenResty's ngx.null is.
M.NULL = require("cjson.safe").null
local NULL = M.NULL

--- What a checked empty array is sent as: lua-cjson 2.1 writes an empty
-- table as {}, so zavu.methods writes [] where this string was encoded.
M.EMPTY_ARRAY = "\0zavu:[]\0"

-- Misuse found in Lua is raised as this, so that the public function
-- around the check (zavu.methods.checked) tells it from an error user code
-- raised inside the check (an __index of an options table): that one
-- passes unchanged; this one is raised again, as a string, at the caller's line.
local MISUSE = { __tostring = function(e) return e.message end }

--- Raise misuse: fmt:format(...), to be positioned at the caller's line.
function M.raise(fmt, ...) error(setmetatable({ message = fmt:format(...) }, MISUSE), 0) end
local raise = M.raise

--- The message of misuse raised by M.raise, or nil for any other error.
function M.misuse_message(e) return getmetatable(e) == MISUSE and e.message or nil end

--- The option names of zavu.core: client, call, delete, many (one list each, in C).
M.OPTIONS = core.option_names

--- The names of several lists, in one new list.
function M.names(...)
  local out = {}
  for i = 1, select("#", ...) do
    for _, name in ipairs((select(i, ...))) do
      out[#out + 1] = name
    end
  end
  return out
end

--- Raise for a key of t that names does not hold: "unknown option 'dryrun'
-- to 'prune' (did you mean 'dry_run'?)". noun: "option" unless told.
function M.check_names(t, fname, names, noun, prefix) core.check_names(t, fname, names, noun or "option", prefix) end

--- A copy of t's values for names (read through __index), nil ones left out.
function M.pick(t, names)
  local out = {}
  if t == nil then return out end
  for _, name in ipairs(names) do
    out[name] = t[name]
  end
  return out
end

-- The characters of a UTF-8 string, or nil when it is not UTF-8 (JSON
-- text is; the API counts characters, not bytes): in C, a send's hot path.
local utf8_length = core.utf8_length
M.utf8_length = utf8_length

-- A value as a message shows it: strings quoted and cut short.
local function shown(v)
  if type(v) == "number" then return v ~= v and "nan" or ("%.14g"):format(v) end -- one form everywhere
  if type(v) ~= "string" then return tostring(v) end
  local s = v:gsub("%c", "?")
  if #s > 40 then s = s:sub(1, 40) .. "..." end
  return "'" .. s .. "'"
end

local function range(f)
  if f.min and f.max then return (" %s..%s"):format(f.min, f.max) end
  if f.min then return (" >= %s"):format(f.min) end
  if f.max then return (" <= %s"):format(f.max) end
  return ""
end

-- Where a value is: the call (fname), what it is (noun: "body field"...) and
-- its path, prefix .. name ("content." .. "mediaUrl"), joined only when a
-- check fails. Raise "bad <noun> '<path>' to '<fname>' (<fmt, ...>)".
local function bad(fname, noun, prefix, name, fmt, ...)
  raise("bad %s '%s' to '%s' (" .. fmt .. ")", noun, prefix .. name, fname, ...)
end

local function check_string(f, v, fname, noun, prefix, name)
  if type(v) ~= "string" then bad(fname, noun, prefix, name, "string expected, got %s", type(v)) end
  local n = utf8_length(v)
  if not n then bad(fname, noun, prefix, name, "UTF-8 text expected") end
  local lo, hi = f.min_length, f.max_length
  if lo and lo == hi and n ~= lo then bad(fname, noun, prefix, name, "%d characters expected, got %d", lo, n) end
  if hi and n > hi then bad(fname, noun, prefix, name, "at most %d characters expected, got %d", hi, n) end
  if lo and n < lo then bad(fname, noun, prefix, name, "at least %d characters expected, got %d", lo, n) end
  if f.pattern and not v:find(f.pattern) then
    bad(fname, noun, prefix, name, "%s expected, got %s", f.means or f.pattern, shown(v))
  end
  if f.no_controls and v:find("%c") then
    bad(fname, noun, prefix, name, "%s expected, got %s", f.means or "text without control characters", shown(v))
  end
  return v
end

local huge = math.huge
local function check_number(f, v, fname, noun, prefix, name)
  if
    type(v) ~= "number"
    or v ~= v
    or v == huge
    or v == -huge
    or (f.type == "integer" and v ~= math.floor(v))
    or (f.min and v < f.min)
    or (f.max and v > f.max)
  then
    local expected = (f.type == "integer" and "integer" or "number") .. range(f)
    bad(fname, noun, prefix, name, "%s expected, got %s", expected, type(v) == "number" and shown(v) or type(v))
  end
  return v
end

local check_fields, check_value

-- A table's raw keys, 1..n and nothing else: n, or nil.
local function array_length(v)
  local n = 0
  for k in next, v do
    if type(k) ~= "number" or k < 1 or k ~= math.floor(k) then return nil end
    n = n + 1
  end
  for i = 1, n do
    if rawget(v, i) == nil then return nil end
  end
  return n
end

-- An array (type "array"): each item checked as f.items describes it.
local function check_array(f, v, fname, noun, prefix, name)
  if type(v) ~= "table" then bad(fname, noun, prefix, name, "table expected, got %s", type(v)) end
  local n = array_length(v)
  if not n then bad(fname, noun, prefix, name, "an array expected (keys 1..n only)") end
  if f.max_items and n > f.max_items then
    bad(fname, noun, prefix, name, "at most %d items expected, got %d", f.max_items, n)
  end
  if n == 0 then return M.EMPTY_ARRAY end
  local out, path = {}, prefix .. name
  for i = 1, n do
    out[i] = check_value(f.items, v[i], fname, noun, path, ("[%d]"):format(i))
  end
  return out
end

-- A map (type "object" with values): string keys, each value checked.
local function check_map(f, v, fname, noun, prefix, name)
  local out, path = {}, prefix .. name .. "."
  for k in next, v do
    if type(k) ~= "string" then bad(fname, noun, prefix, name, "string keys expected, got a %s key", type(k)) end
    out[k] = check_value(f.values, v[k], fname, noun, path, k)
  end
  return out
end

-- v checked as field f describes it; what to send (objects: a fresh table).
function check_value(f, v, fname, noun, prefix, name)
  local t = f.type
  if t == "string" and type(v) == "string" then return check_string(f, v, fname, noun, prefix, name) end
  if v == NULL then
    if f.nullable then return v end
    bad(fname, noun, prefix, name, "%s expected, got zavu.null (this one cannot be null)", t)
  end
  if t == "string" then return check_string(f, v, fname, noun, prefix, name) end
  if t == "integer" or t == "number" then return check_number(f, v, fname, noun, prefix, name) end
  if t == "boolean" then
    if type(v) ~= "boolean" then bad(fname, noun, prefix, name, "boolean expected, got %s", type(v)) end
    return v
  end
  if t == "object" then
    if type(v) ~= "table" then bad(fname, noun, prefix, name, "table expected, got %s", type(v)) end
    if f.values then return check_map(f, v, fname, noun, prefix, name) end
    if not f.fields then return v end
    return check_fields(f.fields, v, fname, noun, prefix .. name .. ".")
  end
  if t == "array" then return check_array(f, v, fname, noun, prefix, name) end
  error("zavu.operations: field " .. prefix .. name .. " has no type the checks know: " .. tostring(t))
end

local names_of = setmetatable({}, { __mode = "k" }) -- a fields list -> its names, and a set of them
local compiled = setmetatable({}, { __mode = "k" }) -- a fields list -> zavu.core's compiled form
local check_in_c = core.check_fields

--- Check table t against a fields list; returns the fresh table of its
-- described values. prefix: the path of t ("egress." inside a body).
-- zavu.core checks a plain table first (a send's hot path) and says yes or
-- "ask Lua"; the checks below then raise the one message misuse gets.
function check_fields(fields, t, fname, noun, prefix)
  local fast = compiled[fields]
  if fast == nil then
    fast = core.compile_fields(fields)
    compiled[fields] = fast
  end
  local checked = check_in_c(fast, t)
  if checked then return checked end
  local names = names_of[fields]
  if not names then
    names = { set = {} }
    for i, f in ipairs(fields) do
      names[i], names.set[f.name] = f.name, true
    end
    names_of[fields] = names
  end
  -- A key no field names raises first, as zavu.core.check_names says it
  -- (the nearest name); a plain table's own keys tell at once that none is.
  if getmetatable(t) ~= nil then
    core.check_names(t, fname, names, noun, prefix)
  else
    local set = names.set
    for k in next, t do
      if not set[k] then core.check_names(t, fname, names, noun, prefix) end
    end
  end
  local out = {}
  for i = 1, #fields do
    local f = fields[i]
    local v = t[f.name]
    if v ~= nil then
      out[f.name] = check_value(f, v, fname, noun, prefix, f.name)
    elseif f.required then
      raise("missing %s '%s' to '%s' (%s required)", noun, prefix .. f.name, fname, f.type)
    end
  end
  return out
end

--- The body of a call of fname, checked: a table argument (argument #argn)
-- is the body; with body.argument, the argument is that field's value.
function M.body(fname, body, v, argn)
  if body.argument then
    if v == nil then raise("bad argument #%d to '%s' (%s expected)", argn, fname, body.argument) end
    return check_fields(body.fields, { [body.argument] = v }, fname, "body field", "")
  end
  if v ~= nil and type(v) ~= "table" then
    raise("bad argument #%d to '%s' (table expected, got %s)", argn, fname, type(v))
  end
  return check_fields(body.fields, v or {}, fname, "body field", "")
end

--- A table of fields that are no body's (an operation's headers:
-- react(id, emoji, { sender = ... })), checked: argument #argn.
function M.fields(fname, fields, v, argn)
  if v ~= nil and type(v) ~= "table" then
    raise("bad argument #%d to '%s' (table expected, got %s)", argn, fname, type(v))
  end
  return check_fields(fields, v or {}, fname, "field", "")
end

--- The query of a call of fname, checked: the described values, in order.
function M.query(fname, fields, q, argn)
  if q ~= nil and type(q) ~= "table" then
    raise("bad argument #%d to '%s' (table expected, got %s)", argn, fname, type(q))
  end
  return check_fields(fields, q or {}, fname, "query parameter", "")
end

return M
