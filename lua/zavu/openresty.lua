-- zavu.openresty: the same API for OpenResty handlers, without blocking the
-- worker's event loop. Each call (and its retries) runs in nginx's thread
-- pool through ngx.run_worker_thread; the handler's coroutine yields until it
-- is done, while the worker keeps serving other requests.
--
--   local zavu = require "zavu.openresty"
--   local ok, err = zavu.sessions.delete(ngx.var.session_id, { timeout = 5 })
--
-- Needs `thread_pool default threads=32;` in nginx.conf (or a pool named by
-- the thread_pool option) and a rewrite/access/content/timer handler.
-- Elsewhere, e.g. init_by_lua, opt in to blocking calls:
-- require("zavu.openresty").new { blocking = true }.
--
-- Every method of the plain client (zavu.METHODS) is offered with the same
-- names, arguments and returns. What the worker side adds:
--   * misuse raises here, at the caller's line: wrong option types, and
--     values that cannot cross into the pool (functions, userdata other
--     than zavu.null);
--   * a call that finds no free Lua VM (lua_worker_thread_vm_pool_size)
--     waits its turn, up to its timeout (or total_timeout, which counts that
--     wait too);
--   * a reload or quit (`nginx -s reload|quit`) lets calls in flight finish
--     and answer before the old worker exits (see "the keeper" below).
local zavu = require "zavu"
local schema = require "zavu.schema"
local monotonic = require("zavu.core").now -- the same clock in every thread

local M = { VERSION = zavu.VERSION, error_mt = zavu.error_mt, is_error = zavu.is_error, null = zavu.null }
M.webhook = require("zavu.openresty.webhook").webhook -- a receiver for signed deliveries (openresty/webhook.lua)

local MODULE = "zavu.openresty"
local error_mt, is_error = zavu.error_mt, zavu.is_error
local type, pairs, ipairs, select, setmetatable, tostring, pcall, error =
  type, pairs, ipairs, select, setmetatable, tostring, pcall, error
local unpack = rawget(table, "unpack") or unpack

-- The methods to offer: "resource.name" is client[resource][name], "name"
-- is client[name].
local METHODS = zavu.METHODS

-- Misuse raises here, in the nginx worker, before anything crosses into
-- the pool: the same checks a client and each method make.
local check_options, check_call = zavu.check_options, zavu.check_call

-- f(...), with an error it raises reported at the line of our caller's
-- caller (`level` frames up from the function calling this), without the
-- position the checker put on it.
local function raise_at(level, f, ...)
  local ok, err = pcall(f, ...)
  if not ok then error((tostring(err):gsub("^[^\n]-:%d+: ", "")), level + 1) end
end

-- Where a method lives: "sessions.delete" -> "sessions", "delete".
local function split(name)
  local resource, method = name:match("^(.-)%.?([^.]+)$")
  return resource ~= "" and resource or nil, method
end

local place = zavu.place -- "sessions.delete" -> t.sessions.delete

-- ---- inside a worker thread (its own Lua VM, kept between calls) ----

-- Clients by their whole configuration, so each VM keeps its connections
-- alive and two configurations (two API keys) never share a client.
local thread_clients, thread_client_count = {}, 0

-- Each key and value with its type and length: no two configurations can
-- spell the same key.
local function config_key(opts)
  local keys = {}
  for k in pairs(opts) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do
    local v = tostring(opts[k])
    parts[i] = ("%d:%s%s%d:%s"):format(#k, k, type(opts[k]):sub(1, 1), #v, v)
  end
  return table.concat(parts)
end

local function thread_client(opts)
  local key = config_key(opts)
  local client = thread_clients[key]
  if not client then
    if thread_client_count >= 16 then -- bound the cache; GC closes the old ones
      thread_clients, thread_client_count = {}, 0
    end
    client = zavu.new(opts)
    thread_clients[key], thread_client_count = client, thread_client_count + 1
  end
  return client
end

--- Run in the worker thread: client[name](...) on the cached client for opts,
-- within what is left before deadline (a zavu.core.now() time, or false): the
-- time the call waited for a thread counts in its total_timeout.
function M.thread_call(opts, name, deadline, ...)
  local client = thread_client(opts)
  local resource, method = split(name)
  local f = resource and client[resource][method] or client[method]
  return zavu.call_within(f, name, deadline or nil, ...)
end

-- ---- in the nginx worker ----

-- The keeper. A shutting-down worker (`nginx -s reload`, `-s quit`) exits as
-- soon as only cancelable timers are left, and a request waiting for a worker
-- thread holds no timer: without help, every answer in flight is lost.
-- The help costs a call two writes to a weak table, of a token taken from a
-- free list (tens of ns: spec/support/openresty_keeper_bench; a light thread
-- per call would cost microseconds, and a wake-up every step). One Lua timer
-- per worker, the watcher, waits an hour at a time; when the worker starts
-- shutting down, lua-nginx-module runs pending timers at once ("premature"),
-- and the watcher becomes the keeper: it sleeps in 10 ms steps - a sleep is
-- a timer nginx waits for - while calls are in flight.
-- A call whose request went away (its coroutine dropped, never resumed)
-- does not hold the worker: the table is weak, and the keeper collects
-- garbage once a second.
local inflight = setmetatable({}, { __mode = "k" }) -- call token -> true
local spare, nspare = {}, 0 -- tokens of calls that returned, for the next ones
local watching, keeping = false, false
local WATCH_SECONDS, KEEP_STEP, COLLECT_SECONDS = 3600, 0.01, 1

local function keep()
  keeping = true
  local collected = ngx.now()
  while next(inflight) ~= nil do
    ngx.sleep(KEEP_STEP)
    if ngx.now() - collected >= COLLECT_SECONDS then
      collectgarbage()
      collected = ngx.now()
    end
  end
  keeping = false
end

local arm
local function on_watch(premature)
  watching = false
  if premature then return keep() end -- the worker is shutting down
  if next(inflight) ~= nil then arm() end
end

-- True when the worker will stay for calls in flight; false when no timer
-- could be made (then the caller keeps the worker itself).
function arm()
  if keeping then return true end
  if ngx.worker.exiting() then -- already shutting down: keep from now on
    keeping = ngx.timer.at(0, keep) and true or false
    return keeping
  end
  watching = ngx.timer.at(WATCH_SECONDS, on_watch) and true or false
  return watching
end

-- When no timer can be made (lua_max_pending_timers reached): a light
-- thread of the calling request sleeps in steps while its call runs.
local function keep_call(token)
  local ok, thread = pcall(ngx.thread.spawn, function()
    while inflight[token] do
      ngx.sleep(KEEP_STEP)
    end
  end)
  return ok and thread or nil
end

-- Waiting for a Lua VM. Each ngx.run_worker_thread takes a VM from the
-- worker's pool (lua_worker_thread_vm_pool_size) and a place in the thread
-- pool's queue; without either it fails at once. Such a call waits on a
-- semaphore that each finishing call posts (the VM it held is free by then),
-- up to POLL seconds at a time (VMs held by other modules are not posted),
-- and then tries again, until its timeout. While any call waits, a new call
-- queues behind it instead of taking the VM first. No size to configure, and
-- nothing on the way of a call that finds a VM: a comparison.
-- (A full queue only comes back from lua-nginx-module 0.10.32 on: earlier
-- ones free a wrong pointer then and the worker dies - keep max_queue above
-- lua_worker_thread_vm_pool_size.)
local waiting, vm_freed = 0, nil
local POLL = 0.05

local function busy(msg)
  if msg == "no available Lua vm" then return "no_vm" end
  if msg == "ngx_thread_task_post failed" then return "queue_full" end
end

-- ---- the error when no worker thread can take a call ----

local CREATE = 'require("zavu.openresty").new'

local function unavailable(cause, message, extra)
  local details = { cause = cause }
  for k, v in pairs(extra or {}) do
    details[k] = v
  end
  return setmetatable({
    code = "worker_thread_unavailable",
    message = message,
    details = details,
    retryable = cause == "no_vm" or cause == "queue_full",
    attempts = 0,
  }, error_mt)
end

local function phase()
  local ok, p = pcall(ngx.get_phase)
  return ok and p or "unknown"
end

-- The error for run_worker_thread's failure: raised (ran false) or returned.
local function failure(pool, ran, msg, waited)
  msg = tostring(msg)
  if not ran then
    if type(ngx.run_worker_thread) ~= "function" then
      return unavailable(
        "unsupported",
        "this nginx's Lua module has no ngx.run_worker_thread "
          .. "(lua-nginx-module >= 0.10.21 built with thread support is needed); opt in to blocking "
          .. "calls with "
          .. CREATE
          .. " { blocking = true }",
        { reason = msg }
      )
    end
    if not (msg:find("API disabled in the context of", 1, true) or msg:find("no request found", 1, true)) then
      return unavailable("thread_failed", "ngx.run_worker_thread failed: " .. msg, { reason = msg })
    end
    local p = phase()
    return unavailable(
      "phase",
      (
        "worker threads cannot be used in the %s phase, which cannot yield (%s); "
        .. "call from a rewrite, access, content or timer handler (ngx.timer.at), or opt in to blocking "
        .. "calls, which stop the worker's event loop while they run, with %s { blocking = true }"
      ):format(p, msg, CREATE),
      { phase = p, reason = msg }
    )
  end
  if msg:find("^thread pool .* not found$") then
    return unavailable(
      "no_pool",
      (
        'no thread pool named "%s": add `thread_pool %s threads=32;` at the '
        .. "top level of nginx.conf (outside http {}), or name a pool that exists with %s "
        .. '{ thread_pool = "..." }'
      ):format(pool, pool, CREATE),
      { thread_pool = pool }
    )
  end
  local cause = busy(msg)
  if cause == "no_vm" then
    return unavailable(
      cause,
      (
        "no Lua VM for a worker thread came free within %.3g s: every VM of "
        .. "this worker's lua_worker_thread_vm_pool_size is busy (unset, 100 up to lua-nginx-module "
        .. "0.10.26, 10 from 0.10.27), or a new one could not be made; set "
        .. "lua_worker_thread_vm_pool_size in http {} to the thread pool's threads, or give the call a "
        .. "longer timeout"
      ):format(waited),
      { thread_pool = pool, reason = msg }
    )
  elseif cause == "queue_full" then
    return unavailable(
      cause,
      (
        'thread pool "%s" kept its queue full for %.3g s: raise its threads '
        .. "or max_queue in `thread_pool %s threads=... max_queue=...;`, or give the call a longer "
        .. "timeout"
      ):format(pool, waited, pool),
      { thread_pool = pool, reason = msg }
    )
  end
  return unavailable(
    "thread_failed",
    (
      "the call failed in the worker thread: %s (its Lua VM has "
      .. "the worker's package.path and package.cpath: zavu and zavu.core must load from them)"
    ):format(msg),
    { thread_pool = pool, reason = msg }
  )
end

-- Error tables that crossed back lost their metatable: give it back, at top
-- level and in a summary's failed list.
local function restore(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "table" then
      if is_error(v) then
        setmetatable(v, error_mt)
      elseif type(v.failed) == "table" then
        for _, f in ipairs(v.failed) do
          if type(f) == "table" and is_error(f.error) then setmetatable(f.error, error_mt) end
        end
      end
    end
  end
  return ...
end

local function pack(...) return { n = select("#", ...), ... } end

-- Whether v can be copied into another Lua VM: not a function, userdata, a
-- coroutine or cdata, nor a table that contains itself (lua-nginx-module's
-- copy would fail in the worker thread, or loop).
local CROSSABLE = { string = true, number = true, boolean = true, ["nil"] = true }
local NULL = zavu.null -- a NULL light userdata (ngx.null): lua-nginx-module copies it

local function crossable(v, on_path)
  local t = type(v)
  if CROSSABLE[t] or v == NULL then return true end
  if t ~= "table" then return false end
  on_path = on_path or {}
  if on_path[v] then return false end
  on_path[v] = true
  for k, x in next, v do
    if not (crossable(k, on_path) and crossable(x, on_path)) then return false end
  end
  on_path[v] = nil
  return true
end

-- The message for the first part of v that cannot cross, named from `where`.
local function not_crossable(v, where, on_path)
  local t = type(v)
  if CROSSABLE[t] or v == NULL then return nil end
  if t ~= "table" then return ("%s (a %s) cannot cross into nginx's thread pool"):format(where, t) end
  if on_path[v] then
    return ("%s (a table that contains itself) cannot cross into nginx's thread pool"):format(where)
  end
  on_path[v] = true
  for k, x in next, v do
    local name = type(k) == "string"
        and k:match("^[%a_][%w_]*$")
        and (where:find("^argument #") and k or where .. "." .. k)
      or ("%s[%s]"):format(where, tostring(k))
    local msg = not_crossable(k, name .. " (a key)", on_path) or not_crossable(x, name, on_path)
    if msg then return msg end
  end
  on_path[v] = nil
end

-- Raise, at the level given, for an argument that cannot cross; returns the
-- `timeout` of the last table argument that has one, to bound the wait for
-- a VM.
local function check_arguments(level, name, ...)
  local timeout
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "table" then
      if not crossable(v) then
        local _, method = split(name)
        error(not_crossable(v, ("argument #%d to '%s'"):format(i, method), {}), level + 1)
      end
      if type(v.timeout) == "number" then timeout = v.timeout end
    elseif not CROSSABLE[type(v)] and v ~= NULL then
      local _, method = split(name)
      error(not_crossable(v, ("argument #%d to '%s'"):format(i, method), {}), level + 1)
    end
  end
  return timeout
end

--- A client. Options as zavu.new, plus thread_pool (default "default") and
-- blocking (run in the calling coroutine, for phases that cannot yield).
-- new's options: zavu.new's (one list, in zavu.core) and where the calls run.
local CLIENT_OPTIONS = schema.OPTIONS.client
local OPTIONS = schema.names(CLIENT_OPTIONS, { "blocking", "thread_pool" })

function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
  end
  opts = opts or {}
  raise_at(2, schema.check_names, opts, "new", OPTIONS)
  if opts.blocking ~= nil and type(opts.blocking) ~= "boolean" then
    error("bad option 'blocking' (boolean expected, got " .. type(opts.blocking) .. ")", 2)
  end
  if opts.thread_pool ~= nil and (type(opts.thread_pool) ~= "string" or opts.thread_pool == "") then
    error("bad option 'thread_pool' (the name of a thread_pool expected, got " .. type(opts.thread_pool) .. ")", 2)
  end
  local thread_opts = schema.pick(opts, CLIENT_OPTIONS) -- what crosses: zavu's own options
  raise_at(2, check_options, thread_opts)
  if opts.blocking then return zavu.new(thread_opts) end
  for k, v in pairs(thread_opts) do
    if not crossable(v) then error(not_crossable(v, "option '" .. tostring(k) .. "'", {}), 2) end
  end
  local pool = opts.thread_pool or "default"
  local client_timeout = thread_opts.timeout or 60
  local client_total = thread_opts.total_timeout

  local run_worker_thread = ngx.run_worker_thread

  -- client[name](...) in the pool; its results, or nil and the error.
  local function in_thread(name, ...)
    -- (in_thread is tail-called: level 2 is the code that called the method)
    raise_at(2, check_call, name, ...)
    local limit = check_arguments(2, name, ...) or client_timeout -- how long to wait for a VM
    -- total_timeout counts from here: the wait for a VM, then the call
    local total = zavu.call_total(name, client_total, ...)
    local deadline = false
    if total then
      deadline = monotonic() + total
      if total < limit then limit = total end
    end

    local token
    if nspare > 0 then
      token, spare[nspare], nspare = spare[nspare], nil, nspare - 1
    else
      token = {}
    end
    inflight[token] = true
    local keeper
    if not watching then
      local armed, kept = pcall(arm)
      if not (armed and kept) then keeper = keep_call(token) end
    end

    local r, started
    while true do
      if waiting == 0 or started then
        r = pack(pcall(run_worker_thread, pool, MODULE, "thread_call", thread_opts, name, deadline, ...))
        if not (r[1] and r[2] == false and busy(r[3])) then break end
      end
      -- no VM, or a full queue: wait for a call to finish, then try again
      ngx.update_time()
      local now = ngx.now()
      started = started or now
      if now - started >= limit then break end
      if not vm_freed then vm_freed = require("ngx.semaphore").new(0) end
      waiting = waiting + 1
      -- at least 1 ms: a shorter wait returns at once
      local pause = limit - (now - started)
      vm_freed:wait(pause > POLL and POLL or pause < 0.001 and 0.001 or pause)
      waiting = waiting - 1
    end

    inflight[token] = nil
    nspare = nspare + 1
    spare[nspare] = token -- (a fresh key each time would make the table rehash)
    if keeper then ngx.thread.kill(keeper) end
    if waiting > 0 and not (r[1] and r[2] == false and busy(r[3])) then
      vm_freed:post(1) -- the VM this call held is free again
    end

    if r[1] and r[2] then return restore(unpack(r, 3, r.n)) end
    return nil, failure(pool, r[1], r[1] and r[3] or r[2], started and ngx.now() - started or 0)
  end

  local client = {}
  for _, name in ipairs(METHODS) do
    place(client, name, function(...) return in_thread(name, ...) end)
  end
  function client.close() end -- connections belong to the pool's VMs
  return client
end

-- The default client, made on first use.
do
  local default
  for _, name in ipairs(METHODS) do
    local resource, method = split(name)
    place(M, name, function(...)
      default = default or M.new()
      local c = default
      if resource then c = c[resource] end
      return c[method](...)
    end)
  end
end

return M
