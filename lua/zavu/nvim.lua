-- zavu.nvim: the same API for Neovim plugins, without freezing the editor.
-- Each delete (and its retries) runs on libuv's thread pool (vim.loop.new_work);
-- the callback runs on the main loop, where the whole Neovim API is usable.
--
--   require("zavu.nvim").sessions.delete(id, function(ok, err) ... end)
--   require("zavu.nvim").new({ timeout = 10 }).sessions.delete(id, { missing_ok = true }, cb)
--
-- luv passes only strings, numbers, booleans and nil between threads (and at
-- most 9 of them), so options and error tables travel as JSON.
local zavu = require "zavu"
local cjson = require "cjson.safe"

local M = { VERSION = zavu.VERSION, error_mt = zavu.error_mt, is_error = zavu.is_error }

-- Runs in a libuv worker thread, in that thread's own Lua state (kept between
-- calls, so a client - and its connection - is reused). No upvalues allowed.
local function work(req, path, cpath, opts_json, id, call_json)
  package.path, package.cpath = path, cpath
  local json = require("cjson.safe")
  _G.zavu_nvim_clients = _G.zavu_nvim_clients or {}
  local client = _G.zavu_nvim_clients[opts_json]
  if not client then
    client = require("zavu").new(json.decode(opts_json))
    _G.zavu_nvim_clients[opts_json] = client
  end
  local ok, err = client.sessions.delete(id, json.decode(call_json))
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

local function after(req, ok, err_json)
  local callback = pending[req]
  pending[req] = nil
  local err = not ok and setmetatable(cjson.decode(err_json), zavu.error_mt)
  -- after() runs in a fast event: most of the Neovim API is off limits there.
  vim.schedule(function()
    if ok then callback(true) else callback(nil, err) end
  end)
end

-- Only plain option values cross into the thread.
local function options_json(opts)
  return cjson.encode(zavu.plain_options(opts))
end

--- A client: options as zavu.new. sessions.delete(id, [opts,] callback) calls
-- callback(true) or callback(nil, err) on the main loop.
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
  end
  local opts_json = options_json(opts)
  local client = {}
  client.sessions = {
    delete = function(id, call_opts, callback)
      if callback == nil and type(call_opts) == "function" then
        call_opts, callback = nil, call_opts
      end
      if type(id) ~= "string" and type(id) ~= "number" then
        error("bad argument #1 to 'delete' (string expected, got " .. type(id) .. ")", 2)
      end
      if type(callback) ~= "function" then
        error("bad argument to 'delete' (callback function expected)", 2)
      end
      if call_opts ~= nil and type(call_opts) ~= "table" then
        error("bad argument #2 to 'delete' (table expected, got " .. type(call_opts) .. ")", 2)
      end
      if not paths then paths = { thread_paths() } end
      worker = worker or vim.loop.new_work(work, after)
      next_req = next_req + 1
      pending[next_req] = callback
      worker:queue(next_req, paths[1], paths[2], opts_json, tostring(id), options_json(call_opts))
    end,
  }
  return client
end

local default_client
M.sessions = {
  delete = function(id, opts, callback)
    default_client = default_client or M.new()
    return default_client.sessions.delete(id, opts, callback)
  end,
}

return M
