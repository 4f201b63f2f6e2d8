-- zavu.cli: the `zavu` command (bin/zavu). main(argv) -> exit status:
-- 0 done, 1 the API or the network said no, 2 usage error, 130 Ctrl-C.
local args = require "zavu.cli.args"
local commands = require "zavu.cli.commands"
local help = require "zavu.cli.help"
local output = require "zavu.cli.output"
local term = require "zavu.cli.term"

local M = {}

-- Local errors that mean the command line (or its environment) is wrong.
local USAGE_CODES = { invalid_argument = true, missing_api_key = true, test_mode_key = true, insecure_transport = true }

local function usage_failure(path, message)
  output.note(term.paint(2, "red", "zavu: "), message)
  output.note(help.hint(path))
  return 2
end

-- A file we can read (not a directory), or a usage error naming the flag.
function M.readable(flag, path)
  local f, err = io.open(path, "rb")
  if f then
    local ok, rerr = f:read(0)
    f:close()
    if ok or rerr == nil then return path end
    err = rerr
  end
  args.usage_error("cannot read %s %s: %s", flag, path, tostring(err):gsub("^[^:]*: ", ""))
end

-- The client options the flags ask for, checked as zavu.new would check them.
local function client_options(zavu, opts)
  local o = {
    base_url = opts.base_url,
    timeout = opts.timeout,
    connect_timeout = opts.connect_timeout,
    max_retries = opts.max_retries,
    debug = opts.verbose or nil,
    user_agent = "zavu-cli",
  }
  if opts.ca_file then o.ca_file = M.readable("--ca-file", opts.ca_file) end
  local ok, err = pcall(zavu.check_options, o)
  if not ok then args.usage_error("%s", tostring(err)) end
  local key = os.getenv("ZAVUDEV_API_KEY")
  if not key or key == "" then args.usage_error("no API key: set ZAVUDEV_API_KEY to a live key (zv_live_...)") end
  if opts.verbose then
    local url = opts.base_url or os.getenv("ZAVUDEV_BASE_URL")
    local shown = (url and url ~= "" and url or "https://api.zavu.dev"):gsub("//[^/@]*@", "//***@")
    output.note(
      ("zavu: %s, key %s... (set; never shown)"):format(term.clean(shown), term.clean(key:match("^zv_%a+_") or ""))
    )
  end
  return o
end

local function context(zavu, core, r)
  local ctx = { opts = r.opts, args = r.args, path = r.path, core = core, zavu = zavu }
  local options = not r.node.offline and client_options(zavu, r.opts) -- offline: no API key needed
  -- The client; after a Ctrl-C, a cancelled error raised instead: a cancel
  -- ends only the calls in flight, and no new one may start.
  function ctx.client()
    if core.interrupted() > 0 then error(ctx.cancelled(), 0) end
    ctx.c = ctx.c or zavu.new(options)
    return ctx.c
  end
  function ctx.cancelled()
    return require("zavu.methods").failure("cancelled", "interrupted (Ctrl-C) before the call was made")
  end
  --- The exit status for err, after reporting it about `what`.
  function ctx.fail(what, err)
    output.error(ctx, what, err)
    return M.status_of(core, err)
  end
  function ctx.interrupted() return core.interrupted() > 0 end
  --- Refuse, as a usage error, what the library would raise for name(...):
  -- a value a flag gave that the API's description does not take (a name
  -- over 200 characters, say), before anything is sent.
  function ctx.check(name, ...)
    local ok, err = pcall(zavu.check_call, name, ...)
    if not ok then args.usage_error("%s", (tostring(err):gsub("^[^\n]-:%d+: ", ""))) end
  end
  return ctx
end

function M.status_of(core, err)
  if core.interrupted() > 0 or (type(err) == "table" and err.code == "cancelled") then return 130 end
  if type(err) == "table" and USAGE_CODES[err.code] and (err.attempts or 0) == 0 then return 2 end
  return 1
end

local function version(zavu, core)
  local info = core.curl_info and core.curl_info() or {}
  return ("zavu %s (zavu-lua; %s; libcurl %s%s)\n"):format(
    zavu.VERSION or "?",
    rawget(_G, "jit") and jit.version or _VERSION,
    info.version or "?",
    info.ssl_version and info.ssl_version ~= "" and (", " .. info.ssl_version) or ""
  )
end

-- help [COMMAND...]: the help of the command named by the words.
local function help_for(words)
  local node, path = commands.tree, {}
  for _, w in ipairs(words) do
    if not (node.commands and node.commands[w]) then
      return usage_failure({}, ("no help for '%s': no such command"):format(table.concat(words, " ")))
    end
    node, path[#path + 1] = node.commands[w], w
  end
  io.stdout:write(help.text(node, path))
  return 0
end

local function run(argv)
  local okz, zavu = pcall(require, "zavu")
  if not okz then
    local build = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    output.note(
      "zavu: cannot load the zavu library with ",
      _VERSION,
      ": ",
      (tostring(zavu):match("module '[^']*' not found") or tostring(zavu):match("^[^\n]*")),
      " (in a checkout: make LUA=",
      build,
      ")"
    )
    return 2
  end
  local core = require "zavu.core"
  local ok, r = pcall(args.parse, commands.tree, argv)
  if not ok then
    if not args.is_usage_error(r) then error(r, 0) end
    local _, partial = pcall(args.parse, commands.tree, { "--help", (table.unpack or unpack)(argv) })
    return usage_failure(type(partial) == "table" and partial.path or {}, r.message)
  end
  if r.version then
    io.stdout:write(version(zavu, core))
    return 0
  end
  if r.help then
    io.stdout:write(help.text(r.node, r.path))
    return 0
  end
  if not r.node.leaf then
    if #r.path == 0 then
      io.stderr:write(help.text(r.node, r.path))
      return 2
    end
    return usage_failure(r.path, ("'zavu %s' needs a command"):format(table.concat(r.path, " ")))
  end
  if r.node.run == "help" then return help_for(r.args) end
  if r.node.run == "completion" then -- needs no key: it sends nothing
    local okc, e = pcall(args.check_args, r)
    if not okc then
      if not args.is_usage_error(e) then error(e, 0) end
      return usage_failure(r.path, e.message)
    end
    io.stdout:write(require("zavu.cli.completion").script(r.args[1]))
    return 0
  end
  local ctx
  ok, ctx = pcall(function()
    args.check_args(r)
    return context(zavu, core, r)
  end)
  if not ok then
    if not args.is_usage_error(ctx) then error(ctx, 0) end
    return usage_failure(r.path, ctx.message)
  end
  core.catch_interrupt() -- Ctrl-C now cancels what is in flight; we exit 130
  local module, fname = r.node.run:match("^(%w+)%.(.+)$")
  local handler = require("zavu.cli." .. module)[fname]
  local status
  ok, status = pcall(handler, ctx)
  if not ok then
    if args.is_usage_error(status) then return usage_failure(r.path, status.message) end
    if type(status) == "table" and status.code then return ctx.fail(nil, status) end
    error(status, 0)
  end
  if core.interrupted() > 0 then return 130 end
  return status
end

--- Run the command; returns the exit status. A bug shows as one line and
-- exit status 1, with the traceback only when ZAVU_TRACEBACK is set.
function M.main(argv)
  local trace
  local ok, status = xpcall(function() return run(argv or {}) end, function(e)
    trace = debug.traceback(tostring(e), 2)
    return e
  end)
  if ok then return status end
  output.note("zavu: internal error: ", term.clean(status))
  if os.getenv("ZAVU_TRACEBACK") then output.note(trace) end
  return 1
end

return M
