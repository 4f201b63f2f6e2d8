-- zavu.nvim: the same API for Neovim plugins, without freezing the editor.
-- Every method of zavu's clients (zavu.METHODS) is here with a callback last:
-- the call (and its retries) runs on libuv's thread pool, and the callback
-- gets what the plain method returns - on the main loop, where the whole
-- Neovim API is usable.
--
--   local zn = require("zavu.nvim")
--   zn.sessions.delete(id, function(ok, err) ... end)
--   zn.new({ timeout = 10 }).sessions.delete(id, { missing_ok = true }, cb)
--   zn.sessions.delete_many(ids, { concurrency = 16 }, function(summary, err) ... end)
--   zn.sessions.list({ limit = 20 }, function(page, err) ... end)   -- when zavu has it
--
-- Misuse (a wrong type, a bad option, a function among the arguments) raises
-- at the call site, as the plain method would; everything else - the API's
-- answer, the network, even a failure inside the worker thread - reaches the
-- callback, exactly once. Quitting Neovim cancels what is in flight.
--
-- luv passes only strings, numbers, booleans and nil between threads (at most
-- 9 of them), so arguments and results travel as JSON.
local zavu = require "zavu"
local core = require "zavu.core"
local schema = require "zavu.schema"
local cjson = require("cjson.safe").new() -- private: the user's cjson settings stay theirs

local uv = vim.uv or vim.loop -- vim.uv from Neovim 0.10, vim.loop before

local M = { VERSION = zavu.VERSION, error_mt = zavu.error_mt, is_error = zavu.is_error, null = zavu.null }

-- The methods, as "resource.name" (client[resource][name]) or "name" (client[name]).
M.METHODS = zavu.METHODS

local unpack_ = table.unpack or unpack
local ERROR_MARK = "__zavu_error" -- marks an error table while it crosses as JSON

--- JSON of a value, exact for numbers (lua-cjson keeps only 14 digits, which
-- would turn a 15-digit id into another id). Tables must be arrays (keys
-- 1..n) or objects (string keys); nil inside a table is absent. Raises, with
-- no position, on what cannot cross: a function, a coroutine, a userdata
-- other than cjson.null, NaN, mixed or sparse keys, a cycle. No upvalues: the
-- worker thread gets this function as bytecode (string.dump).
local function json_encode(value)
  local out = {}
  local function fail(where, what)
    error((where == "" and "" or where .. ": ") .. what .. " cannot cross into libuv's thread pool", 0)
  end
  local function escape(c)
    if c == '"' or c == "\\" then return "\\" .. c end
    return string.format("\\u%04x", c:byte())
  end
  local function enc(v, where, depth)
    local t = type(v)
    if t == "string" then
      out[#out + 1] = '"' .. v:gsub('[%c"\\]', escape) .. '"'
    elseif t == "number" then
      if v ~= v or v == math.huge or v == -math.huge then fail(where, tostring(v)) end
      if v == math.floor(v) and math.abs(v) < 2 ^ 53 then
        out[#out + 1] = string.format("%d", v)
      else
        out[#out + 1] = string.format("%.17g", v)
      end
    elseif t == "boolean" then
      out[#out + 1] = tostring(v)
    elseif t == "nil" or (t == "userdata" and tostring(v) == "userdata: NULL") then
      out[#out + 1] = "null"
    elseif t == "table" then
      if depth > 64 then fail(where, "a table nested over 64 deep (or a cycle)") end
      local count, n = 0, #v
      for k in pairs(v) do
        count = count + 1
        if type(k) ~= "string" and not (type(k) == "number" and k >= 1 and k <= n and k == math.floor(k)) then
          fail(where, "a table with a " .. type(k) .. " key (" .. tostring(k) .. ")")
        end
      end
      if n > 0 and count ~= n then fail(where, "a table with both array and named keys") end
      if n > 0 then
        out[#out + 1] = "["
        for i = 1, n do
          if i > 1 then out[#out + 1] = "," end
          enc(v[i], where .. "[" .. i .. "]", depth + 1)
        end
        out[#out + 1] = "]"
      else
        out[#out + 1] = "{"
        local first = true
        for k, x in pairs(v) do
          if not first then out[#out + 1] = "," end
          first = false
          enc(k, where, depth + 1)
          out[#out + 1] = ":"
          enc(x, where == "" and k or where .. "." .. k, depth + 1)
        end
        out[#out + 1] = "}"
      end
    else
      fail(where, "a " .. t)
    end
  end
  enc(value, "", 0)
  return table.concat(out)
end
M._json_encode = json_encode -- for the specs
local ENCODER = string.dump(json_encode)
assert(debug.getupvalue(json_encode, 1) == nil, "json_encode must have no upvalues: it is dumped")

-- Values (with nils) as one JSON object { n = n, ["1"] = v1, ... }, and back.
local function pack_json(encode, n, values)
  local t = { n = n }
  for i = 1, n do
    t[tostring(i)] = values[i]
  end
  return encode(t)
end

local function unpack_json(text)
  local t = cjson.decode(text)
  if type(t) ~= "table" or type(t.n) ~= "number" then return nil end
  local values = { n = t.n }
  for i = 1, t.n do
    values[i] = t[tostring(i)]
  end
  return values
end

-- Error tables get their metatable (their tostring) back, wherever they are
-- in the results (a delete_many summary has them in failed[i].error).
local function restore_errors(v, depth)
  if type(v) ~= "table" or depth > 64 then return end
  for _, x in pairs(v) do
    restore_errors(x, depth + 1)
  end
  if v[ERROR_MARK] then
    v[ERROR_MARK] = nil
    setmetatable(v, zavu.error_mt)
  end
end

-- Runs in a libuv worker thread, in that thread's own Lua state (kept between
-- calls, so a client - and its connection - is reused). No upvalues allowed.
-- deadline: a zavu.core.now() time the call must end by (its total_timeout,
-- counted from the call on the main thread: the wait for a thread is in it),
-- or 0. Returns true and the results as JSON, or false and what went wrong.
local function work(path, cpath, core_file, encoder, opts_json, name, args_json, deadline)
  local ok, a = pcall(function()
    package.path, package.cpath = path, cpath
    if core_file ~= "" and not package.loaded["zavu.core"] then
      -- The very file the main thread loaded: one copy of the C library, so
      -- its cancel_all reaches the transfers of this thread.
      package.preload["zavu.core"] = assert(package.loadlib(core_file, "luaopen_zavu_core"))
    end
    local json = require("cjson.safe")
    local zavu = require("zavu") -- luacheck: ignore 431
    _G.zavu_nvim_encode = _G.zavu_nvim_encode or assert(loadstring(encoder))
    local encode = _G.zavu_nvim_encode
    -- Error tables as plain tables with a mark, in copies.
    local function mark(v, depth)
      if type(v) ~= "table" or depth > 64 then return v end
      local c = {}
      for k, x in pairs(v) do
        c[k] = mark(x, depth + 1)
      end
      if getmetatable(v) == zavu.error_mt then c.__zavu_error = true end
      return c
    end
    local function pack(...)
      local r = { n = select("#", ...), ... }
      local t = { n = r.n }
      for i = 1, r.n do
        t[tostring(i)] = mark(r[i], 0)
      end
      return encode(t)
    end
    if name == "" then -- the probe: what this thread loaded
      local info = {
        version = zavu.VERSION,
        curl_version = zavu.curl_version,
        lua = rawget(_G, "jit") and jit.version or _VERSION,
      }
      return pack(info)
    end
    _G.zavu_nvim_clients = _G.zavu_nvim_clients or {}
    local client = _G.zavu_nvim_clients[opts_json]
    if not client then
      client = zavu.new(json.decode(opts_json))
      _G.zavu_nvim_clients[opts_json] = client
    end
    local resource, method = name:match("^(.-)%.?([^.]+)$")
    local f = resource == "" and client[method] or (client[resource] or {})[method]
    if type(f) ~= "function" then error("this zavu has no method " .. name, 0) end
    local t = json.decode(args_json)
    local args = {}
    for i = 1, t.n do
      args[i] = t[tostring(i)]
    end
    return pack(zavu.call_within(f, name, deadline > 0 and deadline or nil, (table.unpack or unpack)(args, 1, t.n)))
  end)
  if ok then return true, a end
  -- A raised error table (a listing's) is an answer; anything else is a bug
  -- or a broken install, reported to the callback as internal_error.
  if type(a) == "table" and type(a.code) == "string" and type(a.message) == "string" then
    local okj, text = pcall(function()
      local c = {}
      for k, v in pairs(a) do
        c[k] = v
      end
      c.__zavu_error = true
      return _G.zavu_nvim_encode({ n = 2, ["2"] = c })
    end)
    if okj then return true, text end
  end
  return false, tostring(a)
end

assert(debug.getupvalue(work, 1) == nil, "work must have no upvalues: luv dumps it into another Lua state")

-- ---- main thread -------------------------------------------------------

local function internal_error(message)
  return setmetatable({
    code = "internal_error",
    retryable = false,
    attempts = 0,
    message = "the call failed in libuv's worker thread: " .. tostring(message), -- tostring says "zavu: "
  }, zavu.error_mt)
end

local function lua_dirs()
  -- Neovim finds zavu on the runtimepath (lua/zavu/*.lua, lua/zavu/core.so); a
  -- worker's plain Lua state needs those directories in its search paths, in
  -- runtimepath order.
  local dirs, seen = {}, {}
  for _, pattern in ipairs({ "lua/zavu/init.lua", "lua/zavu/core.so" }) do
    for _, f in ipairs(vim.api.nvim_get_runtime_file(pattern, true)) do
      local dir = f:match("^(.*)/zavu/[^/]+$")
      if dir and not seen[dir] then
        seen[dir] = true
        dirs[#dirs + 1] = dir
      end
    end
  end
  return dirs
end

local paths -- { path, cpath, core_file }, found on the first call
local function thread_paths()
  if paths then return paths end
  local path, cpath = package.path, package.cpath
  if vim.in_fast_event() then -- no runtimepath lookups here: use what Lua knows, once
    return { path, cpath, package.searchpath and package.searchpath("zavu.core", cpath) or "" }
  end
  local prefix_path, prefix_cpath = {}, {}
  for _, dir in ipairs(lua_dirs()) do
    prefix_path[#prefix_path + 1] = dir .. "/?.lua;" .. dir .. "/?/init.lua;"
    prefix_cpath[#prefix_cpath + 1] = dir .. "/?.so;"
  end
  -- The core file as Neovim's own loader picks it: the runtimepath first.
  local core_file = vim.api.nvim_get_runtime_file("lua/zavu/core.so", false)[1]
    or (package.searchpath and package.searchpath("zavu.core", cpath))
    or ""
  paths = { table.concat(prefix_path) .. path, table.concat(prefix_cpath) .. cpath, core_file }
  return paths
end

-- At most `limit` calls sit in libuv's pool at once (its size: more would wait
-- there anyway); the rest wait here, where quitting can drop them before they
-- ever start. A call that starts after cancel_all would run normally.
local limit = math.max(1, math.min(1024, tonumber(os.getenv("UV_THREADPOOL_SIZE")) or 4))
local waiting, in_flight, exiting = {}, 0, false
local dispatch

local function finish(call, ok, payload)
  if call.done then return end -- exactly once, whatever luv hands us
  call.done = true
  call.ctx = nil
  in_flight = in_flight - 1
  if exiting then return end -- Neovim is going away: nobody to call back
  local results
  if ok == true then
    results = type(payload) == "string" and unpack_json(payload)
      or { n = 2, nil, internal_error("its results could not be read") }
    for i = 1, results.n do
      restore_errors(results[i], 0)
    end
  else
    results = { n = 2, nil, internal_error(payload == nil and "it returned nothing" or payload) }
  end
  dispatch()
  vim.schedule(function() call.callback(unpack_(results, 1, results.n)) end)
end

function dispatch()
  while in_flight < limit and #waiting > 0 and not exiting do
    local call = table.remove(waiting, 1)
    in_flight = in_flight + 1
    local p = call.paths
    -- One work object per call: whatever luv hands back (even nothing, when
    -- the thread's Lua raised outside the pcall), this call is the one to answer.
    call.ctx = uv.new_work(work, function(...) finish(call, ...) end)
    local queued, err =
      call.ctx:queue(p[1], p[2], p[3], ENCODER, call.opts_json, call.name, call.args_json, call.deadline)
    if not queued then finish(call, false, "libuv did not queue the work: " .. tostring(err)) end
  end
end

local function enqueue(call)
  waiting[#waiting + 1] = call
  dispatch()
end

-- Quitting cancels what is in flight: libuv joins its pool threads as
-- Neovim exits, so a transfer left running would hold the exit (and a blank
-- terminal) until it ended.
vim.api.nvim_create_autocmd("VimLeavePre", {
  group = vim.api.nvim_create_augroup("zavu_nvim", { clear = true }),
  desc = "zavu.nvim: cancel the calls in flight",
  callback = function()
    exiting = true
    waiting = {}
    core.cancel_all()
  end,
})

-- ---- checks, on the main thread, before anything is queued -----------------

-- A check's message without the "file.lua:12: " its raise put in front: the
-- caller's position is the one that matters.
local function without_position(msg)
  if type(msg) ~= "string" then return msg end
  return (msg:gsub("^[^\n]-:%d+: ", "", 1))
end

local function check_options(opts)
  local ok, err = pcall(zavu.check_options, opts)
  if not ok then error(without_position(err), 0) end
end

local function check_call(name, ...)
  local ok, err = pcall(zavu.check_call, name, ...)
  if not ok then error(without_position(err), 0) end
end

-- ---- clients -----------------------------------------------------------------

-- One call: (args..., [opts,] callback). Raises (with no position) on misuse.
local function prepare(state, name, ...)
  local fname = name:match("[^.]+$")
  local n = select("#", ...)
  local args = { ... }
  while n > 0 and args[n] == nil do
    n = n - 1
  end
  local callback = args[n]
  if type(callback) ~= "function" then
    error(
      ("'%s' needs a callback function as its last argument (the last one given is %s)"):format(
        fname,
        n == 0 and "nothing" or "a " .. type(callback)
      ),
      0
    )
  end
  n = n - 1
  args[n + 1] = nil
  check_call(name, unpack_(args, 1, n))
  for i = 1, n do -- a function (on_progress, on_qr, filter) cannot run in another thread
    local ok, err = pcall(json_encode, args[i])
    if not ok then error(("bad argument #%d to '%s' (%s)"):format(i, fname, err), 0) end
  end
  if not state.opts_json then -- the default client reads the environment on first use
    check_options(state.opts)
    state.opts_json = json_encode(zavu.plain_options(state.opts)) -- only these cross
  end
  -- total_timeout counts from here: the wait in the queue, then the call
  local total = zavu.call_total(name, state.opts and state.opts.total_timeout, unpack_(args, 1, n))
  return {
    deadline = total and core.now() + total or 0,
    callback = callback,
    name = name,
    opts_json = state.opts_json,
    args_json = pack_json(json_encode, n, args),
    paths = thread_paths(),
  }
end

local function method(state, name)
  return function(...)
    local ok, call = pcall(prepare, state, name, ...)
    if not ok then error(call, 2) end -- at the caller's line
    enqueue(call)
  end
end

local place = zavu.place -- "sessions.get" -> client.sessions.get

local function build(state)
  local client = {}
  for _, name in ipairs(M.METHODS) do
    place(client, name, method(state, name))
  end
  return client
end

--- A client: options as zavu.new, checked here (a bad one raises now). Its
-- methods are zavu's, each with a callback last.
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
  end
  local ok, err = pcall(check_options, opts)
  if not ok then error(err, 2) end
  local copy = schema.pick(opts, schema.OPTIONS.client) -- by name: what check_options read
  return build({ opts = copy, opts_json = json_encode(zavu.plain_options(copy)) })
end

-- The default client (ZAVUDEV_API_KEY, ZAVUDEV_BASE_URL), its options read on
-- first use: zavu.nvim.sessions.delete(id, cb), zavu.nvim.proxy_status(cb), ...
for k, v in pairs(build({ opts = nil })) do
  M[k] = v
end

--- probe(callback): run nothing in a worker thread; callback(info) with what
-- the thread loaded ({ version, curl_version, lua }), or callback(nil, err).
-- For :checkhealth zavu.
function M.probe(callback)
  if type(callback) ~= "function" then error("bad argument #1 to 'probe' (function expected)", 2) end
  enqueue({
    callback = callback,
    name = "",
    opts_json = "{}",
    args_json = '{"n":0}',
    paths = thread_paths(),
    deadline = 0,
  })
end

return M
