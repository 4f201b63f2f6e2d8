-- zavu.nvim: the same API for Neovim plugins, without freezing the editor.
-- Each delete (and its retries) runs on libuv's thread pool (vim.loop.new_work);
-- the callback runs on the main loop, where the whole Neovim API is usable.
--
--   require("zavu.nvim").sessions.delete(id, function(ok, err) ... end)
--   require("zavu.nvim").new({ timeout = 10 }).sessions.delete(id, { missing_ok = true }, cb)
--   require("zavu.nvim").sessions.delete_many(ids, { concurrency = 16 }, function(summary) ... end)
--
-- luv passes only strings, numbers, booleans and nil between threads (and at
-- most 9 of them), so options and error tables travel as JSON.
local zavu = require "zavu"
local cjson = require "cjson.safe"

local M = { VERSION = zavu.VERSION, error_mt = zavu.error_mt, is_error = zavu.is_error }

-- Runs in a libuv worker thread, in that thread's own Lua state (kept between
-- calls, so a client - and its connection - is reused). No upvalues allowed.
-- what: "delete" (arg: the id) or "delete_many" (arg: the ids as JSON).
local function work(req, path, cpath, opts_json, what, arg, call_json)
  package.path, package.cpath = path, cpath
  local json = require("cjson.safe")
  _G.zavu_nvim_clients = _G.zavu_nvim_clients or {}
  local client = _G.zavu_nvim_clients[opts_json]
  if not client then
    client = require("zavu").new(json.decode(opts_json))
    _G.zavu_nvim_clients[opts_json] = client
  end
  if what == "delete_many" then
    return req, true, json.encode(client.sessions.delete_many(json.decode(arg), json.decode(call_json)))
  end
  local ok, err = client.sessions.delete(arg, json.decode(call_json))
  if ok then return req, true end
  return req, false, json.encode(err)
end

-- The Lua search paths a worker thread needs: Neovim finds zavu on the
-- runtimepath (lua/zavu/*.lua, lua/zavu/core.so), a plain Lua state does not.
local function thread_paths()
  local path, cpath = package.path, package.cpath
  local files = vim.api.nvim_get_runtime_file("lua/zavu/init.lua", true)
  for _, f in ipairs(vim.api.nvim_get_runtime_file("lua/zavu/core.so", true)) do
    files[#files + 1] = f
  end
  for _, f in ipairs(files) do
    local lua_dir = f:match("^(.*)/zavu/[^/]+$")
    path = lua_dir .. "/?.lua;" .. lua_dir .. "/?/init.lua;" .. path
    cpath = lua_dir .. "/?.so;" .. cpath
  end
  return path, cpath
end

local pending, next_req, worker, paths = {}, 0, nil, nil

-- Back on the main loop: rebuild what crossed as JSON, then call back.
local function after(req, ok, json)
  local call = pending[req]
  pending[req] = nil
  local a, b = true, nil
  if call.many then -- the summary; its error tables get their tostring back
    a = cjson.decode(json)
    for _, f in ipairs(a.failed) do setmetatable(f.error, zavu.error_mt) end
  elseif not ok then
    a, b = nil, setmetatable(cjson.decode(json), zavu.error_mt)
  end
  -- after() runs in a fast event: most of the Neovim API is off limits there.
  vim.schedule(function() call.callback(a, b) end)
end

local function queue(callback, many, opts_json, arg, call_opts)
  if not paths then paths = { thread_paths() } end
  worker = worker or vim.loop.new_work(work, after)
  next_req = next_req + 1
  pending[next_req] = { callback = callback, many = many }
  worker:queue(next_req, paths[1], paths[2], opts_json, many and "delete_many" or "delete", arg,
               cjson.encode(zavu.plain_options(call_opts)))
end

-- (x, [opts,] callback): opts may be left out.
local function with_callback(name, call_opts, callback)
  if callback == nil and type(call_opts) == "function" then
    call_opts, callback = nil, call_opts
  end
  if type(callback) ~= "function" then
    error("bad argument to '" .. name .. "' (callback function expected)", 3)
  end
  if call_opts ~= nil and type(call_opts) ~= "table" then
    error("bad argument #2 to '" .. name .. "' (table expected, got " .. type(call_opts) .. ")", 3)
  end
  return call_opts, callback
end

--- A client: options as zavu.new. On the main loop,
-- sessions.delete(id, [opts,] callback) calls callback(true) or callback(nil, err);
-- sessions.delete_many(ids, [opts,] callback) calls callback(summary), the
-- summary of zavu's delete_many (on_progress cannot cross into the thread).
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
  end
  local opts_json = cjson.encode(zavu.plain_options(opts)) -- only these cross
  local client = {}
  client.sessions = {
    delete = function(id, call_opts, callback)
      if type(id) ~= "string" and type(id) ~= "number" then
        error("bad argument #1 to 'delete' (string expected, got " .. type(id) .. ")", 2)
      end
      call_opts, callback = with_callback("delete", call_opts, callback)
      queue(callback, false, opts_json, tostring(id), call_opts)
    end,
    delete_many = function(ids, call_opts, callback)
      if type(ids) ~= "table" then
        error("bad argument #1 to 'delete_many' (table expected, got " .. type(ids) .. ")", 2)
      end
      call_opts, callback = with_callback("delete_many", call_opts, callback)
      if call_opts and call_opts.on_progress ~= nil then
        error("on_progress cannot cross into libuv's thread pool", 2)
      end
      queue(callback, true, opts_json, cjson.encode(ids), call_opts)
    end,
  }
  return client
end

M.sessions = zavu.lazy_sessions(M.new) -- the default client, made on first use

return M
