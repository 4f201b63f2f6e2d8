-- zavu.methods: client methods made from zavu.operations, and the listing
-- helpers every "page" operation gets (each, all). Misuse (a wrong Lua type,
-- an unknown query parameter) raises at the call site; everything the API or
-- the network says comes back as nil plus an error table.
local core = require "zavu.core"

local json = require("cjson.safe").new() -- private: the user's cjson settings stay theirs
json.encode_invalid_numbers(false) -- NaN and inf are no JSON: refuse them
json.encode_max_depth(64)

local M = {}
local unpack_ = table.unpack or unpack

M.DEFAULT_MAX_PAGES = 10000 -- a listing longer than this is the server's fault

--- A check's message without the "methods.lua:12:" a raise inside this
-- library put in front: the caller's position is the one that matters.
function M.without_position(msg)
  if type(msg) ~= "string" then return msg end
  return (msg:gsub("^[^\n]-zavu/[%w_]+%.lua:%d+: ", ""))
end

--- An error table like the C core's, for what is found in Lua.
function M.failure(code, message, fields)
  local err = { code = code, message = message, retryable = false, attempts = 0 }
  for k, v in pairs(fields or {}) do
    err[k] = v
  end
  return setmetatable(err, core.error_mt)
end

--- When a call bound by total_timeout (its own, else the client's
-- client_total) must end: a zavu.core.now() time, or nil when unbound.
function M.deadline(total, client_total)
  total = total or client_total
  return total and core.now() + total or nil
end

--- What is left before deadline, as a total_timeout for the next call inside
-- (at least 1 ms: 0 is no total_timeout), or nil when there is no deadline.
function M.left(deadline)
  if not deadline then return nil end
  return math.max(deadline - core.now(), 0.001)
end

--- The error of a call made of several whose deadline passed before the next
-- one (`what`) was sent; nil while there is time left.
function M.out_of_time(deadline, what)
  if deadline and core.now() >= deadline then
    return M.failure("timeout", "total_timeout ran out before " .. what .. " was sent")
  end
end

-- Checks raise without a position; public functions raise the message
-- again at their caller's line (see checked()).
local function raise(fmt, ...) error(fmt:format(...), 0) end

-- f(...) with a check's error raised at the caller of our caller.
local function pack(...) return { n = select("#", ...), ... } end

local function checked(f, ...)
  local results = pack(pcall(f, ...))
  if not results[1] then error(M.without_position(results[2]), 3) end
  return unpack_(results, 2, results.n)
end

-- A query value as the API reads it: integers without a ".0", no NaN.
local function query_value(fname, key, v)
  local t = type(v)
  if t == "string" then return v end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if math.type and math.type(v) == "integer" then return tostring(v) end -- 5.3+: every digit
    if v ~= v or v == math.huge or v == -math.huge then
      raise("bad query parameter '%s' to '%s' (finite number expected, got %s)", key, fname, tostring(v))
    end
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return ("%d"):format(v) end
    return ("%.17g"):format(v)
  end
  raise("bad query parameter '%s' to '%s' (string, number or boolean expected, got %s)", key, fname, t)
end

-- {key, value, ...} in the order `allowed` names them; nil values are left out.
local function build_query(fname, allowed, q, argn)
  if q == nil then return nil end
  if type(q) ~= "table" then raise("bad argument #%d to '%s' (table expected, got %s)", argn, fname, type(q)) end
  local known = {}
  for _, k in ipairs(allowed) do
    known[k] = true
  end
  for k in pairs(q) do
    if not known[k] then
      raise(
        "bad argument #%d to '%s' (unknown query parameter '%s'; known: %s)",
        argn,
        fname,
        tostring(k),
        table.concat(allowed, ", ")
      )
    end
  end
  local out = {}
  for _, k in ipairs(allowed) do
    local v = q[k]
    if v ~= nil then
      out[#out + 1] = k
      out[#out + 1] = query_value(fname, k, v)
    end
  end
  return out
end

local function encode(fname, value)
  local text, err = json.encode(value)
  if not text then raise("bad body to '%s' (%s)", fname, err) end
  return text
end

-- What the operation promises, or an invalid_response error.
local function shape(op, value, status, attempts, request_id)
  local returns = op.returns
  if returns == "none" then return true end
  local function broken(what)
    return nil,
      M.failure(
        "invalid_response",
        ("the API answered %d to %s with %s"):format(status, op.name, what),
        { status = status, attempts = attempts, request_id = request_id ~= "" and request_id or nil }
      )
  end
  if type(value) ~= "table" then return broken("a body that is not a JSON object") end
  if returns == "object" then return value end
  if returns == "page" then
    if type(value.items) ~= "table" then return broken("no items array") end
    if value.nextCursor ~= nil and (type(value.nextCursor) ~= "string" or value.nextCursor == "") then
      return broken("a nextCursor that is not a string")
    end
    return value
  end
  local inner = value[returns]
  if type(inner) ~= "table" then return broken(("no %s object"):format(returns)) end
  return inner
end

--- The arguments of a call of op, checked: params, query, body, opts.
-- Raises (without a position) on misuse.
function M.prepare(op, ...)
  local fname = op.name:match("[^.]+$")
  local args, params, i = { ... }, {}, 0
  for name in op.path:gmatch("{(%w+)}") do
    i = i + 1
    if type(args[i]) ~= "string" then
      raise("bad argument #%d to '%s' (string expected for %s, got %s)", i, fname, name, type(args[i]))
    end
    params[i] = args[i]
  end
  local k, query, body = i + 1, nil, nil
  if op.query then
    query = build_query(fname, op.query, args[k], k)
    k = k + 1
  elseif op.body == "table" then
    local b = args[k]
    if b ~= nil and type(b) ~= "table" then
      raise("bad argument #%d to '%s' (table expected, got %s)", k, fname, type(b))
    end
    body = encode(fname, b or {})
    k = k + 1
  elseif op.body then
    if args[k] == nil then raise("bad argument #%d to '%s' (%s expected)", k, fname, op.body) end
    body = encode(fname, { [op.body] = args[k] })
    k = k + 1
  end
  local opts = args[k]
  if opts ~= nil then
    if type(opts) ~= "table" then
      raise("bad argument #%d to '%s' (options table expected, got %s)", k, fname, type(opts))
    end
    core.check_call_options(opts)
  end
  return params, query, body, opts
end

--- The function for one operation, bound to a core handle.
function M.make(handle, op)
  return function(...)
    local params, query, body, opts = checked(M.prepare, op, ...)
    local value, status, attempts, request_id = handle:request(op.method, op.path, params, query, body, opts)
    if value == nil then return nil, status end
    return shape(op, value, status, attempts, request_id)
  end
end

-- The pages of a listing, one call at a time: next_page() -> page, or nil
-- at the end; raises the error table of a failed page. It ends: a cursor
-- the server already gave, or more than max_pages pages, is invalid_response.
-- total_timeout (opts', else client_total) bounds the whole listing: each
-- page is given what is left.
local function pages(list, query, opts, client_total)
  local q = {}
  for k, v in pairs(query or {}) do
    q[k] = v
  end
  if q.limit == nil then q.limit = 100 end -- the API's largest page: fewest round trips
  local max_pages = opts and opts.max_pages or M.DEFAULT_MAX_PAGES
  local seen, count, done = {}, 0, false
  if q.cursor then seen[q.cursor] = true end
  local deadline = M.deadline(opts and opts.total_timeout, client_total)
  return function()
    if done then return nil end
    if count >= max_pages then
      error(M.failure("invalid_response", ("the listing did not end within max_pages (%d)"):format(max_pages)), 0)
    end
    local page_opts = opts
    local late = M.out_of_time(deadline, "the next page's request")
    if late then error(late, 0) end
    if deadline then
      page_opts = {}
      for k, v in pairs(opts or {}) do
        page_opts[k] = v
      end
      page_opts.total_timeout = M.left(deadline)
    end
    local p, err = list(q, page_opts)
    if not p then error(err, 0) end
    count = count + 1
    local cursor = p.nextCursor
    if cursor then
      if seen[cursor] then
        error(M.failure("invalid_response", "the API gave a cursor it had already given: the listing would not end"), 0)
      end
      seen[cursor] = true
      q.cursor = cursor
    else
      done = true
    end
    return p
  end
end

-- Misuse of each/all raises at their caller, before any page is asked for.
local function check_listing_args(fname, query, opts)
  if query ~= nil and type(query) ~= "table" then
    error(("bad argument #1 to '%s' (table expected, got %s)"):format(fname, type(query)), 3)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error(("bad argument #2 to '%s' (table expected, got %s)"):format(fname, type(opts)), 3)
  end
  local max_pages = opts and opts.max_pages
  if
    max_pages ~= nil
    and (
      type(max_pages) ~= "number"
      or max_pages ~= max_pages
      or max_pages < 1
      or max_pages ~= math.floor(max_pages)
      or max_pages == math.huge
    )
  then
    error(("bad option 'max_pages' to '%s' (whole number >= 1 expected, got %s)"):format(fname, tostring(max_pages)), 3)
  end
end

--- each(query, opts): every item of every page, fetched as the loop needs
-- it. An error in the middle of the listing is raised (the error table), so
-- a loop never ends as if the listing were complete; all() returns it.
function M.each(list, fname, client_total)
  return function(query, opts)
    check_listing_args(fname, query, opts)
    local next_page = pages(list, query, opts, client_total)
    local page, i = nil, 0
    return function()
      while true do
        if page and i < #page.items then
          i = i + 1
          return page.items[i]
        end
        page, i = next_page(), 0
        if not page then return nil end
      end
    end
  end
end

--- all(query, opts) -> every item in one array, or nil and the error.
function M.all(list, fname, client_total)
  return function(query, opts)
    check_listing_args(fname, query, opts)
    local next_page = pages(list, query, opts, client_total)
    local items, n = {}, 0
    local ok, err = pcall(function()
      for page in next_page do
        local page_items = page.items
        for i = 1, #page_items do
          items[n + i] = page_items[i]
        end
        n = n + #page_items
      end
    end)
    if ok then return items end
    if type(err) == "table" and getmetatable(err) == core.error_mt then return nil, err end
    error(err, 0) -- misuse, or a bug: not the API's answer
  end
end

--- request(method, path, { query = {...}, body = table | json, params = {...},
-- timeout, max_retries }) -> the decoded body (true when empty) | nil, err.
-- "{name}" parts of path take params in order, each encoded as one segment.
function M.prepare_request(method, path, args)
  if method ~= "GET" and method ~= "POST" and method ~= "DELETE" then
    raise('bad argument #1 to \'request\' ("GET", "POST" or "DELETE" expected, got %s)', tostring(method))
  end
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
    raise("bad argument #2 to 'request' (a path starting with / expected)")
  end
  if args ~= nil and type(args) ~= "table" then
    raise("bad argument #3 to 'request' (table expected, got %s)", type(args))
  end
  args = args or {}
  local query
  if args.query ~= nil then
    if type(args.query) ~= "table" then raise("bad option 'query' (table expected)") end
    local keys = {}
    for key in pairs(args.query) do
      if type(key) ~= "string" then raise("bad option 'query' (string keys expected)") end
      keys[#keys + 1] = key
    end
    table.sort(keys) -- the same URL for the same table, every time
    query = build_query("request", keys, args.query, 3)
  end
  local body = args.body
  if body ~= nil and method == "GET" then raise("bad option 'body' (a GET sends no body)") end
  if type(body) == "table" then
    body = encode("request", body)
  elseif body ~= nil and type(body) ~= "string" then
    raise("bad option 'body' (table or JSON string expected, got %s)", type(body))
  end
  local params = {}
  if args.params ~= nil and type(args.params) ~= "table" then raise("bad option 'params' (table expected)") end
  for i, v in ipairs(args.params or {}) do
    if type(v) ~= "string" then raise("bad option 'params' (strings expected, #%d is %s)", i, type(v)) end
    params[i] = v
  end
  core.check_call_options(args)
  return params, query, body, args
end

function M.request(handle)
  return function(method, path, args)
    local params, query, body, opts = checked(M.prepare_request, method, path, args)
    local value, err = handle:request(method, path, params, query, body, opts)
    if value == nil then return nil, err end
    return value
  end
end

return M
