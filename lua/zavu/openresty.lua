-- zavu.openresty: the same API for OpenResty handlers, without blocking the
-- worker's event loop. Each delete (and its retries) runs in nginx's thread
-- pool through ngx.run_worker_thread; the handler's coroutine yields until it
-- is done, while the worker keeps serving other requests.
--
--   local zavu = require "zavu.openresty"
--   local ok, err = zavu.sessions.delete(ngx.var.session_id)
--
-- Needs `thread_pool default threads=32;` in nginx.conf (or a pool named by
-- the thread_pool option) and a rewrite/access/content phase. Elsewhere, e.g.
-- init_by_lua, opt in to blocking calls: require("zavu.openresty").new { blocking = true }.
local zavu = require "zavu"

local M = { VERSION = zavu.VERSION, error_mt = zavu.error_mt, is_error = zavu.is_error }

local MODULE = "zavu.openresty"

-- ---- inside a worker thread (its own Lua VM, kept between calls) ----

-- Clients by configuration, so each thread keeps its connections alive.
local thread_clients, thread_client_count = {}, 0

local function config_key(opts)
  local keys = {}
  for k in pairs(opts) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(opts[k]) end
  return table.concat(parts, "\0")
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

--- Run in the worker thread: the blocking calls, on a cached client.
function M.thread_delete(opts, id, call_opts)
  return thread_client(opts).sessions.delete(id, call_opts)
end

function M.thread_delete_many(opts, ids, call_opts)
  return thread_client(opts).sessions.delete_many(ids, call_opts)
end

-- ---- in the nginx worker ----

local function unavailable(why)
  return nil, setmetatable({
    code = "worker_thread_unavailable",
    message = why .. "; add `thread_pool default threads=32;` to nginx.conf, call from a "
      .. "rewrite, access or content handler, or opt in to blocking calls with "
      .. "require(\"zavu.openresty\").new { blocking = true }",
    retryable = false,
    attempts = 0,
  }, zavu.error_mt)
end

--- A client. Options as zavu.new, plus thread_pool (default "default") and
-- blocking (run in the calling coroutine, for phases that cannot yield).
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
  end
  opts = opts or {}
  if opts.blocking then
    return zavu.new(opts)
  end
  local pool = opts.thread_pool or "default"
  local thread_opts = zavu.plain_options(opts) -- only these cross into the thread

  -- Run M[fn](thread_opts, ...) in the pool: true and its results, or false
  -- and the unavailable() error when no worker thread can take it.
  local function in_thread(fn, ...)
    local ran, done, a, b = pcall(ngx.run_worker_thread, pool, MODULE, fn, thread_opts, ...)
    if not ran then -- a phase where the API is disabled
      return false, unavailable("ngx.run_worker_thread is not available here (" .. tostring(done) .. ")")
    end
    if not done then -- no such pool, or the thread failed
      return false, unavailable("ngx.run_worker_thread failed: " .. tostring(a))
    end
    return true, a, b
  end

  local client = {}
  client.sessions = {
    delete = function(id, call_opts)
      if type(id) ~= "string" and type(id) ~= "number" then
        error("bad argument #1 to 'delete' (string expected, got " .. type(id) .. ")", 2)
      end
      local ran, ok, err = in_thread("thread_delete", id, call_opts)
      if not ran then return ok, err end
      if ok then return true end
      -- Metatables do not cross threads: give the error its tostring back.
      return nil, setmetatable(err, zavu.error_mt)
    end,

    --- The summary of zavu's delete_many, or nil and an error when no worker
    -- thread can run it. on_progress cannot cross into the thread.
    delete_many = function(ids, call_opts)
      if type(ids) ~= "table" then
        error("bad argument #1 to 'delete_many' (table expected, got " .. type(ids) .. ")", 2)
      end
      if call_opts and call_opts.on_progress ~= nil then
        error("on_progress cannot cross into nginx's thread pool", 2)
      end
      local ran, summary, err = in_thread("thread_delete_many", ids, call_opts)
      if not ran then return summary, err end
      for _, f in ipairs(summary.failed) do setmetatable(f.error, zavu.error_mt) end
      return summary
    end,
  }
  function client.close() end -- connections belong to the pool's threads
  return client
end

M.sessions = zavu.lazy_sessions(M.new) -- the default client, made on first use

return M
