-- zavu: the Zavu API from Lua.
--
--   local zavu = require "zavu"            -- default client from the environment
--   local ok, err = zavu.sessions.delete(id)
--   local client = zavu.new { api_key = "zv_live_...", timeout = 10 }
--
-- The work happens in C (zavu.core); this file adds the conveniences: the
-- environment, a lazily created default client and the `sessions` shape.
local core = require "zavu.core"
local operations = require "zavu.operations"
local methods = require "zavu.methods"
local lifecycle = require "zavu.lifecycle"
local schema = require "zavu.schema"

local M = {
  VERSION = core.version,
  curl_version = core.curl_version,
  error_mt = core.error_mt, -- give a copied error table its tostring back
  -- The error table an HTTP response turns into, for HTTP done by other
  -- means (cosockets): error_from_response(status, body [, request_id [, noun]]).
  error_from_response = core.error_from_response,
  -- Raise now, as new() or a call would, for code that runs them in another
  -- thread (zavu.openresty, zavu.nvim): check_options(opts), check_call_options(opts).
  check_call_options = core.check_call_options,
  --- Every call in flight in this process ends now with the code "cancelled".
  cancel_all = core.cancel_all,
  -- Signed webhook deliveries: verify, sign, verify_tool (zavu/webhooks.lua).
  webhooks = require "zavu.webhooks",
}

-- The client's methods, as "resource.name" (client[resource][name]) or
-- "name" (client[name]): the host modules make theirs from this list, the
-- default client too. (each, an iterator, stays in the calling Lua state.)
M.METHODS = { "sessions.delete_many", "sessions.wait", "sessions.prune", "request" }
for _, op in ipairs(operations) do
  M.METHODS[#M.METHODS + 1] = op.name
  if op.returns == "page" then M.METHODS[#M.METHODS + 1] = op.name:gsub("list$", "all") end
end

-- The interpreter as the User-Agent names it: LuaJIT says which LuaJIT.
local lua_version = (rawget(_G, "jit") and jit.version) or _VERSION

-- The client's options: the names zavu.core reads, one list (in C).
local CLIENT_OPTIONS = schema.OPTIONS.client

-- The options new() is given, checked for unknown names (its own keys) and
-- read by name (through __index too), with the environment's defaults.
local function with_environment(opts)
  if opts ~= nil then schema.check_names(opts, "new", CLIENT_OPTIONS) end
  local cfg = schema.pick(opts, CLIENT_OPTIONS)
  if cfg.api_key == nil then cfg.api_key = os.getenv("ZAVUDEV_API_KEY") end
  if cfg.base_url == nil then
    local url = os.getenv("ZAVUDEV_BASE_URL")
    if url and url ~= "" then cfg.base_url = url end
  end
  if cfg.debug == nil then cfg.debug = os.getenv("ZAVUDEV_LOG") == "debug" end
  cfg.lua_version = lua_version
  return cfg
end

-- `local client <close> = zavu.new()` closes it at the end of the scope (5.4).
local client_mt = { __close = function(client) client.handle:close() end }

-- f(...), with an error it raises reported at the caller's line (the
-- user's code) rather than here.
local at_call_site = methods.checked

--- Raise, as new() would, when an option is unknown, has a wrong type or an impossible value.
function M.check_options(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
  end
  at_call_site(core.check_options, at_call_site(with_environment, opts))
end

--- Where a method lands on a client: "sessions.get" -> client.sessions.get,
-- "request" -> client.request. The host modules place theirs with it too.
local function place(client, name, f)
  local resource, method = name:match("^(.-)%.?([^.]+)$")
  if resource == "" then
    client[method] = f
  else
    client[resource] = client[resource] or {}
    client[resource][method] = f
  end
end

--- A client: one connection kept alive across its calls.
-- Options: api_key, base_url, timeout, total_timeout, connect_timeout, max_retries, max_retry_wait, ca_file,
-- ca_path, user_agent, allow_insecure_http, debug, max_response_bytes. Unset ones come from
-- ZAVUDEV_API_KEY, ZAVUDEV_BASE_URL and ZAVUDEV_LOG=debug.
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
  end
  local cfg = at_call_site(with_environment, opts)
  local handle = at_call_site(core.new, cfg)
  local client = { handle = handle }
  -- sessions.delete and delete_many are C functions bound to the handle (no
  -- Lua call in between: the hot path); the rest are made from operations.
  client.sessions = core.sessions(handle)
  -- (each, all, wait and prune are made from the detailed forms: they count
  -- the requests their calls send)
  local detailed = {} -- by name
  for _, op in ipairs(operations) do
    if not op.native then
      local method
      method, detailed[op.name] = methods.make(handle, op)
      place(client, op.name, method)
    end
    if op.returns == "page" then
      local resource = client[op.name:match("^(.-)%.")]
      resource.each = methods.each(detailed[op.name], "each", op, cfg.total_timeout)
      resource.all, detailed[op.name:gsub("list$", "all")] =
        methods.all(detailed[op.name], "all", op, cfg.total_timeout)
    end
  end
  client.sessions.wait = lifecycle.wait(detailed["sessions.get"], cfg.total_timeout)
  client.sessions.prune = lifecycle.prune(detailed["sessions.all"], client.sessions.delete_many, cfg.total_timeout)
  client.request = methods.request(handle)
  --- Close the connection now rather than at garbage collection.
  function client.close() handle:close() end
  return setmetatable(client, client_mt)
end

--- A client-shaped table whose calls go to a client that new() makes on
-- first use: the modules' default clients (this one's, OpenResty's, Neovim's);
-- and a function that returns that client (making it).
function M.lazy_client(new, names)
  local client, lazy = nil, {}
  for _, name in ipairs(names or M.METHODS) do
    local resource, method = name:match("^(.-)%.?([^.]+)$")
    place(lazy, name, function(...)
      client = client or new()
      local f = resource == "" and client[method] or client[resource][method]
      return f(...)
    end)
  end
  return lazy, function()
    client = client or new()
    return client
  end
end

M.place = place

function M.lazy_sessions(new) return M.lazy_client(new).sessions end

-- The default client: zavu.sessions.delete(id), zavu.egress_nodes.list(), ...
do
  local lazy, client = M.lazy_client(M.new, M.METHODS)
  for _, op in ipairs(operations) do
    if op.returns == "page" then -- made here: an iterator is not forwarded
      local resource = lazy[op.name:match("^(.-)%.")]
      local list -- the detailed form (each counts requests), made on first use
      resource.each = methods.each(function(...)
        list = list or methods.detailed(client().handle, op.name)
        return list(...)
      end, "each", op)
    end
  end
  for k, v in pairs(lazy) do
    M[k] = v
  end
end

--- The options with plain values only (strings, numbers, booleans): what can
-- cross into another thread's Lua state (OpenResty's, libuv's).
function M.plain_options(opts)
  local plain = {}
  for k, v in pairs(opts or {}) do
    local t = type(v)
    if t == "string" or t == "number" or t == "boolean" then plain[k] = v end
  end
  return plain
end

-- What each method checks before it sends anything, for check_call.
local DELETE_MANY_OPTIONS = schema.names(schema.OPTIONS.call, schema.OPTIONS.delete, schema.OPTIONS.many)
local checks = {
  ["sessions.delete_many"] = function(ids, opts)
    if type(ids) ~= "table" then
      schema.raise("bad argument #1 to 'delete_many' (table expected, got %s)", type(ids))
    end
    if opts ~= nil and type(opts) ~= "table" then
      schema.raise("bad argument #2 to 'delete_many' (options table expected, got %s)", type(opts))
    end
    if opts ~= nil then
      schema.check_names(opts, "delete_many", DELETE_MANY_OPTIONS)
      core.check_call_options(opts)
    end
  end,
  ["sessions.wait"] = lifecycle.check_wait,
  ["sessions.prune"] = lifecycle.check_prune,
  request = methods.prepare_request,
}
for _, op in ipairs(operations) do
  checks[op.name] = function(...) methods.prepare(op, ...) end
  if op.returns == "page" then
    checks[op.name:gsub("list$", "all")] = function(query, opts) methods.check_listing(op, "all", query, opts) end
  end
end

--- check_call(name, ...): raise, as client[name](...) would, when the
-- arguments are misuse - without sending anything. For the host modules,
-- which run the call in another thread but must raise here.
function M.check_call(name, ...)
  local check = checks[name]
  if not check then error("bad argument #1 to 'check_call' (no method " .. tostring(name) .. ")", 2) end
  methods.checked(check, ...)
end

-- Where each method takes its options table (the argument's position), for
-- call_total and call_within.
local options_at = {
  ["sessions.delete_many"] = 2,
  ["sessions.wait"] = 2,
  ["sessions.prune"] = 1,
  request = 3, -- its args table holds the options
}
for _, op in ipairs(operations) do
  local _, params = op.path:gsub("{%w+}", "")
  options_at[op.name] = params + ((op.query or op.body) and 2 or 1)
  if op.returns == "page" then options_at[op.name:gsub("list$", "all")] = options_at[op.name] end
end

--- The total_timeout a call of `name` with these arguments runs under: its
-- options' own, else client_total (the client's), or nil. For the host
-- modules, which count the time a call waits for a worker thread in it.
function M.call_total(name, client_total, ...)
  local i = options_at[name]
  local opts = i and i <= select("#", ...) and select(i, ...)
  return type(opts) == "table" and opts.total_timeout or client_total
end

--- f(...), a call of `name`, within what is left before deadline (a
-- zavu.core.now() time; nil: unbound): its options table (a copy) gets
-- that as total_timeout. Nothing left: nil and a timeout error, unsent.
function M.call_within(f, name, deadline, ...)
  local i = options_at[name]
  if not deadline or not i then return f(...) end
  local left = deadline - core.now()
  if left <= 0 then
    return nil,
      methods.failure("timeout", "total_timeout ran out: 0 attempts made; it was reached before the call could start")
  end
  local args = { n = select("#", ...), ... }
  local opts = {}
  for k, v in pairs(type(args[i]) == "table" and args[i] or {}) do
    opts[k] = v
  end
  if not opts.total_timeout or opts.total_timeout > left then opts.total_timeout = left end
  args[i] = opts
  return f((table.unpack or unpack)(args, 1, math.max(args.n, i)))
end

--- True when v is an error table from this library (even a copied one).
function M.is_error(v)
  return type(v) == "table"
    and type(v.code) == "string"
    and type(v.message) == "string"
    and type(v.attempts) == "number"
end

return M
