-- zavu.methods: client methods made from zavu.operations, and the listing
-- helpers every "page" operation gets (each, all). Misuse (a wrong Lua type,
-- an unknown option, a query or body its operation does not take - see
-- zavu.schema) raises at the caller's line; everything the API or the
-- network says comes back as nil plus an error table.
local core = require "zavu.core"
local schema = require "zavu.schema"

local json = require("cjson.safe").new() -- private: the user's cjson settings stay theirs
json.encode_invalid_numbers(false) -- NaN and inf are no JSON: refuse them
json.encode_max_depth(64)

local M = {}
local unpack_ = table.unpack or unpack

M.DEFAULT_MAX_PAGES = 10000 -- a listing longer than this is the server's fault

-- The options each kind of method takes (the C lists: zavu.core.option_names).
local OPTIONS = schema.OPTIONS
local CALL = OPTIONS.call -- every operation's
local DELETE = schema.names(OPTIONS.call, OPTIONS.delete) -- an operation that returns nothing
local LISTING = schema.names(OPTIONS.call, { "max_pages" }) -- each, all
local REQUEST = schema.names(DELETE, { "query", "body", "params" })

--- An error table like the C core's, for what is found in Lua.
function M.failure(code, message, fields)
  local err = { code = code, message = message, retryable = false, attempts = 0 }
  for k, v in pairs(fields or {}) do
    err[k] = v
  end
  return setmetatable(err, core.error_mt)
end

--- Raise misuse a check found (zavu.schema.raise) at the line of the first
-- function up the stack that is not one of zavu's own modules: the
-- caller's, however the call came (through the lazy default client, a tail
-- call, a host module). zavu.core's checks find the same line themselves
-- (zl_raise); their errors, and user code's, pass unchanged.
function M.raise_at_caller(e)
  local msg = schema.misuse_message(e)
  if not msg then error(e, 0) end
  local level = 2
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then error(msg, 0) end
    local own = info.source:find("zavu/[%w_]+%.lua$") or info.source:find("zavu/[%w_]+/[%w_]+%.lua$")
    if info.currentline > 0 and not own then error(msg, level) end
    level = level + 1
  end
end

--- When a call bound by total_timeout (its own, else the client's
-- client_total) must end: a zavu.core.now() time, or nil when unbound.
-- Under 1 ms counts as 1 ms, as the C core counts it for a single call.
function M.deadline(total, client_total)
  total = total or client_total
  return total and core.now() + math.max(total, 0.001) or nil
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

-- Checks raise misuse without a position; public functions raise it again
-- at their caller's line (see checked()).
local raise = schema.raise

local function pack(...) return { n = select("#", ...), ... } end

-- f(...), with a check's error raised at the caller's line.
local function checked(f, ...)
  local results = pack(pcall(f, ...))
  if not results[1] then M.raise_at_caller(results[2]) end
  return unpack_(results, 2, results.n)
end
M.checked = checked

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

-- {key, value, ...} in the order `keys` names them; nil values are left out.
local function query_list(fname, keys, q)
  local out = {}
  for _, k in ipairs(keys) do
    local v = q[k]
    if v ~= nil then
      out[#out + 1] = k
      out[#out + 1] = query_value(fname, k, v)
    end
  end
  return out
end

-- The query of a described operation: checked, then in the fields' order.
local function build_query(fname, fields, q, argn)
  local checked_q = schema.query(fname, fields, q, argn)
  local keys = {}
  for i, f in ipairs(fields) do
    keys[i] = f.name
  end
  return query_list(fname, keys, checked_q)
end

-- How a checked empty array (schema.EMPTY_ARRAY) looks once encoded.
local EMPTY_ARRAY_JSON = json.encode(schema.EMPTY_ARRAY)

local function encode(fname, value)
  local text, err = json.encode(value)
  if not text then raise("bad body to '%s' (%s)", fname, err) end
  if text:find(EMPTY_ARRAY_JSON, 1, true) then text = text:gsub(EMPTY_ARRAY_JSON:gsub("%p", "%%%0"), "[]") end
  return text
end

-- Why items is not a JSON array of objects, or nil when it is.
local function bad_items(items)
  if type(items) ~= "table" then return "no items array" end
  local n, count = #items, 0
  for _ in pairs(items) do
    count = count + 1
  end
  if count ~= n then return "an items value that is not an array" end
  for i = 1, n do
    if type(items[i]) ~= "table" then
      local what = type(items[i]) == "userdata" and "null" or type(items[i]) -- JSON null: cjson.null
      return ("item %d that is %s, not an object"):format(i, what)
    end
  end
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
    local why = bad_items(value.items)
    if why then return broken(why) end
    if value.nextCursor ~= nil and (type(value.nextCursor) ~= "string" or value.nextCursor == "") then
      return broken("a nextCursor that is not a string")
    end
    return value
  end
  local inner = value[returns]
  if type(inner) ~= "table" then return broken(("no %s object"):format(returns)) end
  return inner
end

-- What a route is about, for a 404's message ("no such egress node"): the
-- noun of its resource, "sessions" -> "session", "egress_nodes" -> "egress node".
local function noun_of(op)
  local resource = op.name:match("^(.-)%.")
  return resource and (resource:gsub("_", " "):gsub("s$", ""))
end

-- A path parameter by the rule of every id: a string as it is, a number
-- as its exact digits (zavu.core.number_id, what delete sends); a number
-- without such digits is a local invalid_argument, as for delete.
local function path_id(fname, i, name, v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then
    local digits = core.number_id(v)
    if digits then return digits end
    return nil,
      M.failure("invalid_argument", (name:gsub("Id$", " id")) .. " must be a string or a whole number below 2^53")
  end
  raise("bad argument #%d to '%s' (string expected for %s, got %s)", i, fname, name, t)
end

-- What every call of an operation needs and never changes: its function
-- name, its path parameters' names, its body description (with send's
-- header fields beside the body's: `sender` beside `to`), the options it takes.
local infos = setmetatable({}, { __mode = "k" })
local function info_of(op)
  local info = infos[op]
  if info then return info end
  info = { fname = op.name:match("[^.]+$"), params = {}, body = op.body }
  for name in op.path:gmatch("{(%w+)}") do
    info.params[#info.params + 1] = name
  end
  local h = op.headers and op.headers[1] -- (one header: the operations have one)
  if h then
    info.header = h
    if op.body and not op.body.argument then
      info.body = { fields = schema.names(op.body.fields, op.headers) }
    else
      info.header_table = true -- react(id, emoji, { sender = ... })
    end
  end
  info.options = op.returns == "none" and DELETE or CALL
  if info.body and not info.body.argument and not info.header_table then
    info.compiled = core.compile_fields(info.body.fields) -- for zavu.core.encode_body
    info.header_name = h and h.name
  end
  infos[op] = info
  return info
end

-- The body of a call of op from its argument v (argument #k): the JSON, the
-- header field's value (or nil), and the idempotency key with whether this
-- call made it (see M.make); and the error when no key could be made.
local encode_body = core.encode_body
local function prepare_body(op, info, v, k, header_arg)
  if info.compiled then -- in C at once, when v is a plain table that is right (a send's hot path)
    local text, header, key, own = encode_body(info.compiled, v, op.idempotency, info.header_name)
    if text then return text, header, key, own end
  end
  -- The Lua way: the checks (which raise for misuse), then lua-cjson.
  local fname, h = info.fname, info.header
  local body = schema.body(fname, info.body, v, k)
  local header, key, own, failure
  if info.header_table then
    header = schema.fields(fname, op.headers, header_arg, k + 1)[h.name]
  elseif h then
    header, body[h.name] = body[h.name], nil
  end
  if op.idempotency then
    key = body[op.idempotency]
    if key == nil then
      key, failure = core.idempotency_key() -- 128 bits from the OS, once per call: every attempt sends it
      body[op.idempotency], own = key, true
    end
  end
  return encode(fname, body), header, key, own, failure
end

--- The arguments of a call of op, checked: params (nil: none), query,
-- body, opts, and for an operation with a header or an idempotency key, the
-- header's value, the key and whether the call made it - or false and the
-- invalid_argument error of an id without digits. Raises (without a
-- position) on misuse, before looking at anything else.
function M.prepare(op, ...)
  local info = info_of(op)
  local fname, names = info.fname, info.params
  local params, bad_id
  if #names > 0 then
    params = {}
    for i = 1, #names do
      local err
      params[i], err = path_id(fname, i, names[i], (select(i, ...)))
      bad_id = bad_id or err
    end
  end
  local k, query, body, header, key, own, no_key = #names + 1, nil, nil, nil, nil, nil, nil
  if op.query then
    query = build_query(fname, op.query, (select(k, ...)), k)
    k = k + 1
  elseif op.body then
    local v, header_arg = select(k, ...)
    body, header, key, own, no_key = prepare_body(op, info, v, k, header_arg)
    k = k + (info.header_table and 2 or 1)
  end
  local opts = select(k, ...)
  if opts ~= nil then
    if type(opts) ~= "table" then
      raise("bad argument #%d to '%s' (options table expected, got %s)", k, fname, type(opts))
    end
    schema.check_names(opts, fname, info.options)
    core.check_call_options(opts)
  end
  if bad_id or no_key then return false, bad_id or no_key end -- nothing can be sent
  return params, query, body, opts, header, key, own
end

-- JSON nulls out of a value (cjson.null), as the engine drops them from
-- every answer: for the message a 409 carries, kept raw in err.details.
local function without_nulls(v, depth)
  if type(v) ~= "table" or depth > 64 then return v end
  for k, x in pairs(v) do
    if x == schema.NULL and type(k) == "string" then
      v[k] = nil
    else
      without_nulls(x, depth + 1)
    end
  end
  return v
end

-- A send that failed with its idempotency key. A 409 that carries the
-- message answers the key: when this call made the key (no other call can
-- have used it), or sent it more than once (its own first attempt reached
-- the API), it is that first attempt's success - the message. Otherwise the
-- error, which says the key so that the same send can be made again.
local function settle_idempotent(err, key, own)
  local details = err.details
  local original = type(details) == "table" and details.message
  if err.status == 409 and type(original) == "table" and (own or (err.attempts or 0) > 1) then
    return without_nulls(original, 0)
  end
  if type(details) ~= "table" then
    details = {}
    err.details = details
  end
  details.idempotencyKey = key
  if err.status == 409 and err.code == "conflict" then -- the API's body said no more
    err.message = "this idempotencyKey was used before, by another call: nothing was sent again"
      .. (type(original) == "table" and " (err.details.message is what it sent)" or "")
  end
  return nil
end

--- The function for one operation, bound to a core handle, and its detailed
-- form, for what is built from several calls (each, all, wait, prune), which
-- count the requests they send: detailed(...) -> value, err, status, attempts
-- (of this call, success or not).
-- defaults: the client's options (sender: the Zavu-Sender when a call names none).
function M.make(handle, op, defaults)
  local noun, ignore_body = noun_of(op), op.returns == "none"
  local method_name, path = op.method, op.path
  -- 1: test-mode keys refused locally; 2: idempotent (retried as a GET is)
  local flags = (op.live_keys_only and 1 or 0) + (op.idempotency and 2 or 0)
  -- The header the client sends when a call names none: "Zavu-Sender: snd_1".
  local h = op.headers and op.headers[1]
  local default_value = h and defaults and defaults[h.name]
  local default_header = default_value and (h.header .. ": " .. default_value)
  -- value, err, status, attempts
  local function send(params, query, body, opts, header, key, own)
    if params == false then return nil, query, nil, 0 end -- an id without digits (...): nothing was sent
    local value, status, attempts, request_id = handle:request(
      method_name,
      path,
      params,
      query,
      body,
      opts,
      noun,
      ignore_body,
      flags,
      header and (h.header .. ": " .. header) or default_header
    )
    if value == nil then
      local err = status -- (nil, err)
      if key then
        local message = settle_idempotent(err, key, own)
        if message then return message, nil, err.status, err.attempts end
      end
      return nil, err, err.status, err.attempts
    end
    local v, err = shape(op, value, status, attempts, request_id)
    return v, err, status, attempts
  end
  local prepare = M.prepare
  -- send(prepare(...)), with prepare's misuse raised at the caller's line
  local function call(...)
    local ok, params, query, body, opts, header, key, own = pcall(prepare, op, ...)
    if not ok then M.raise_at_caller(params) end
    return send(params, query, body, opts, header, key, own)
  end
  local function method(...)
    local value, err = call(...)
    if value == nil then return nil, err end
    return value
  end
  return method, call
end

--- The detailed form of the operation named `name` ("sessions.get"), bound to handle.
function M.detailed(handle, name)
  for _, op in ipairs(require "zavu.operations") do
    if op.name == name then
      local _, detailed = M.make(handle, op)
      return detailed
    end
  end
  error("zavu: no operation " .. tostring(name), 2)
end

-- The pages of a listing, one call at a time: next_page() -> page, or nil
-- at the end; raises the error table of a failed page. It ends: a cursor
-- the server already gave, or more than max_pages pages, is invalid_response.
-- list is a detailed form; sent.attempts counts every request of the listing
-- and sent.status is the last status, which every error it raises carries.
-- total_timeout (opts', else client_total) bounds the whole listing: each
-- page is given what is left.
local function pages(list, q, opts, max_pages, client_total)
  local seen, count, done = {}, 0, false
  local sent = { attempts = 0 }
  local function fail(message)
    error(M.failure("invalid_response", message, { attempts = sent.attempts, status = sent.status }), 0)
  end
  if q.cursor then seen[q.cursor] = true end
  local deadline = M.deadline(opts and opts.total_timeout, client_total)
  return function()
    if done then return nil end
    if count >= max_pages then fail(("the listing did not end within max_pages (%d)"):format(max_pages)) end
    local late = M.out_of_time(deadline, "the next page's request")
    if late then
      late.attempts, late.status = sent.attempts, sent.status
      error(late, 0)
    end
    local page_opts = opts
    if deadline then
      page_opts = {}
      for k, v in pairs(opts or {}) do
        page_opts[k] = v
      end
      page_opts.total_timeout = M.left(deadline)
    end
    local p, err, status, attempts = list(q, page_opts)
    sent.attempts, sent.status = sent.attempts + (attempts or 0), status or sent.status
    if not p then
      err.attempts = sent.attempts -- the listing's requests, not only this page's
      error(err, 0)
    end
    count = count + 1
    local cursor = p.nextCursor
    if cursor then
      if seen[cursor] then fail("the API gave a cursor it had already given: the listing would not end") end
      seen[cursor] = true
      q.cursor = cursor
    else
      done = true
    end
    return p
  end,
    sent
end

--- each/all's arguments, checked as the listing's calls would check them -
-- so misuse raises at each/all, before any page is asked for. Returns the
-- query (100 a page unless told: the fewest round trips), the listing's
-- options and max_pages.
function M.check_listing(op, fname, query, opts)
  local q = schema.query(fname, op.query, query, 1)
  if q.limit == nil then q.limit = 100 end
  if opts ~= nil and type(opts) ~= "table" then
    raise("bad argument #2 to '%s' (table expected, got %s)", fname, type(opts))
  end
  if opts ~= nil then schema.check_names(opts, fname, LISTING) end
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
    raise("bad option 'max_pages' to '%s' (whole number >= 1 expected, got %s)", fname, tostring(max_pages))
  end
  local call_opts = schema.pick(opts, CALL)
  core.check_call_options(call_opts)
  return q, call_opts, max_pages or M.DEFAULT_MAX_PAGES
end

--- each(query, opts): every item of every page, fetched as the loop needs
-- it. An error in the middle of the listing is raised (the error table), so
-- a loop never ends as if the listing were complete; all() returns it.
-- list: the detailed form of the listing (see M.detailed).
function M.each(list, fname, op, client_total)
  return function(query, opts)
    local q, call_opts, max_pages = checked(M.check_listing, op, fname, query, opts)
    local next_page = pages(list, q, call_opts, max_pages, client_total)
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

--- all(query, opts) -> every item in one array, or nil and the error; and
-- all's detailed form. list: the detailed form of the listing.
function M.all(list, fname, op, client_total)
  local function detailed(q, opts, max_pages)
    local next_page, sent = pages(list, q, opts, max_pages, client_total)
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
    if ok then return items, nil, sent.status, sent.attempts end
    if type(err) == "table" and getmetatable(err) == core.error_mt then return nil, err, err.status, err.attempts end
    error(err, 0) -- a bug: not the API's answer
  end
  local function all(query, opts)
    local items, err = detailed(checked(M.check_listing, op, fname, query, opts))
    if items == nil then return nil, err end
    return items
  end
  return all, function(query, opts) return detailed(checked(M.check_listing, op, fname, query, opts)) end
end

--- request(method, path, { query = {...}, body = table | json, params = {...},
-- timeout, max_retries, missing_ok }) -> the decoded body (true when empty)
-- | nil, err. "{name}" parts of path take params in order, each encoded as
-- one segment. The escape hatch: query and body are sent as given, unchecked.
function M.prepare_request(method, path, args)
  if method ~= "GET" and method ~= "POST" and method ~= "PATCH" and method ~= "DELETE" then
    raise('bad argument #1 to \'request\' ("GET", "POST", "PATCH" or "DELETE" expected, got %s)', tostring(method))
  end
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
    raise("bad argument #2 to 'request' (a path starting with / expected)")
  end
  if path:find("\0", 1, true) then raise("bad argument #2 to 'request' (the path holds a NUL byte)") end
  if args ~= nil and type(args) ~= "table" then
    raise("bad argument #3 to 'request' (table expected, got %s)", type(args))
  end
  args = args or {}
  schema.check_names(args, "request", REQUEST)
  local query
  if args.query ~= nil then
    if type(args.query) ~= "table" then raise("bad option 'query' (table expected)") end
    local keys = {}
    for key in pairs(args.query) do
      if type(key) ~= "string" then raise("bad option 'query' (string keys expected)") end
      keys[#keys + 1] = key
    end
    table.sort(keys) -- the same URL for the same table, every time
    query = query_list("request", keys, args.query)
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
  local opts = schema.pick(args, DELETE) -- what zavu.core reads: a call's options
  core.check_call_options(opts)
  return params, query, body, opts
end

-- What a path is about, from the operations' own paths: the noun of the
-- one whose fixed part ("/v1/whatsapp-alt/egress-nodes/") begins it.
local routes = {}
for _, op in ipairs(require "zavu.operations") do
  local prefix, noun = op.path:match("^([^{]*){"), noun_of(op)
  if prefix and noun then routes[#routes + 1] = { prefix = prefix, noun = noun } end
end
table.sort(routes, function(a, b) return #a.prefix > #b.prefix end)

local function noun_of_path(path)
  for _, r in ipairs(routes) do
    if path:sub(1, #r.prefix) == r.prefix then return r.noun end
  end
end

function M.request(handle)
  return function(method, path, args)
    local params, query, body, opts = checked(M.prepare_request, method, path, args)
    local value, err = handle:request(method, path, params, query, body, opts, noun_of_path(path))
    if value == nil then return nil, err end
    return value
  end
end

return M
