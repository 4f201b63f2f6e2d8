-- :checkhealth zavu - whether zavu can work in this Neovim: the C core, libcurl
-- (version, TLS, HTTP/2), a worker thread, the API key (never shown) and the
-- base URL. Works with Neovim 0.7's `health` module and 0.10's vim.health.
local M = {}

-- The reporting functions of this Neovim: vim.health.start/ok/... (0.9+), or
-- report_start/report_ok/... (vim.health on 0.8, require("health") on 0.7).
local function reporter()
  local h = rawget(vim, "health")
  if type(h) == "table" and type(h.start) == "function" then
    return { start = h.start, ok = h.ok, info = h.info, warn = h.warn, error = h.error }
  end
  if type(h) ~= "table" or type(h.report_start) ~= "function" then h = require("health") end
  return {
    start = h.report_start,
    ok = h.report_ok,
    info = h.report_info,
    warn = h.report_warn,
    error = h.report_error,
  }
end

-- Whether plain http:// may carry the key to this host: loopback only, as the
-- core decides (127.0.0.0/8, ::1, localhost).
local function is_loopback(host)
  host = host:lower()
  return host == "localhost" or host == "::1" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

-- The entries of a search path that belong to another Lua (5.2 and later):
-- what `eval "$(luarocks --lua-version=5.4 --local path)"` leaves in LUA_PATH
-- and LUA_CPATH for every program started from that shell, Neovim included,
-- whose LuaJIT then loads 5.4's cjson.so and fails on lua_newuserdatauv.
local function foreign_entries(search_path)
  local found, versions = {}, {}
  for entry in (search_path or ""):gmatch("[^;]+") do
    local v = entry:match("lua/(5%.[2-9])/") or entry:match("lua(5%.[2-9])")
    if v then
      found[#found + 1] = entry
      versions[v] = true
    end
  end
  local list = {}
  for v in pairs(versions) do
    list[#list + 1] = v
  end
  table.sort(list)
  return found, table.concat(list, ", ")
end

-- Where package.cpath's foreign entries came from, what they are, how to fix it.
local function foreign_advice(entries, versions)
  local from = (os.getenv("LUA_CPATH") or ""):find(entries[1], 1, true) and "LUA_CPATH" or "package.cpath"
  local shown = table.concat(entries, ";", 1, math.min(#entries, 3)) .. (#entries > 3 and ";..." or "")
  local newest = versions:match("[%d.]+$")
  local origin = "Something in your configuration put them on package.cpath."
  if from == "LUA_CPATH" then
    origin = ('It comes from `eval "$(luarocks --lua-version=%s --local path)"` (or the like) in the shell '):format(
      newest
    ) .. "Neovim was started from, or in ~/.bashrc: Neovim inherits LUA_PATH and LUA_CPATH."
  end
  return {
    ("Cause: %s lists module directories of Lua %s (%s); Neovim's LuaJIT loads only modules built for "):format(
      from,
      versions,
      shown
    ) .. "Lua 5.1, and a C module found there fails (undefined symbol: lua_newuserdatauv, say).",
    origin,
    "Fix: start Neovim without them (`env -u LUA_PATH -u LUA_CPATH nvim`), keep that eval out of the shell "
      .. "Neovim starts from, or use `luarocks --lua-version=5.1 --local path` for Neovim; see :help zavu-install",
  }
end

-- scheme, host (brackets removed), and the URL with any user:password@ hidden.
local function parse_url(url)
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, nil, url end
  local authority = rest:match("^[^/?#]*")
  local shown = url
  local userinfo = authority:match("^(.*)@")
  if userinfo then
    shown = scheme .. "://<user:password hidden>@" .. rest:sub(#userinfo + 2)
    authority = authority:sub(#userinfo + 2)
  end
  local host = authority:match("^%[([^%]]*)%]") or authority:match("^[^:]*")
  return scheme:lower(), host, shown
end

function M.check()
  local r = reporter()
  local key = os.getenv("ZAVUDEV_API_KEY") or ""
  -- Nothing below prints the key; this makes sure of it for text that comes
  -- from elsewhere (an error message, a URL someone put the key in).
  local function clean(msg)
    msg = tostring(msg)
    if #key >= 4 then
      local at = 1
      while true do
        local s, e = msg:find(key, at, true)
        if not s then break end
        msg = msg:sub(1, s - 1) .. "<the API key>" .. msg:sub(e + 1)
        at = s + #"<the API key>"
      end
    end
    return msg
  end
  local report = {}
  for k, f in pairs(r) do
    report[k] = function(msg, advice)
      if advice ~= nil then
        local a = type(advice) == "table" and advice or { advice }
        for i, line in ipairs(a) do
          a[i] = clean(line)
        end
        return f(clean(msg), a)
      end
      return f(clean(msg))
    end
  end

  report.start("zavu: the C core and libcurl")
  local lua_name = rawget(_G, "jit") and jit.version or _VERSION
  local uv = vim.uv or vim.loop
  local foreign, versions = foreign_entries(package.cpath)
  local ok, core = pcall(require, "zavu.core")
  if not ok then
    local why = tostring(core)
    if #foreign > 0 then
      report.error(
        "zavu.core does not load into Neovim's " .. lua_name .. ": " .. why,
        foreign_advice(foreign, versions)
      )
    elseif why:find("undefined symbol: lua", 1, true) then
      report.error("zavu.core does not load into Neovim's " .. lua_name .. ": " .. why, {
        "Cause: a C module built for another Lua (5.2 or later) was found first; Neovim's LuaJIT loads only",
        "modules built for Lua 5.1. Build zavu for LuaJIT with `make nvim`, or install the rock for Lua 5.1.",
      })
    else
      report.error("zavu.core does not load into Neovim's " .. lua_name .. ": " .. why, {
        "Build it for LuaJIT with `make nvim` and put the repository and build/nvim on 'runtimepath'",
        "(Neovim loads C modules from lua/ on the runtimepath), or install the rock against Lua 5.1",
        "and put its tree on package.path, package.cpath and 'runtimepath': see :help zavu-install",
      })
    end
    return
  end
  local so = vim.api.nvim_get_runtime_file("lua/zavu/core.so", false)[1]
    or (package.searchpath and package.searchpath("zavu.core", package.cpath))
    or "package.cpath"
  report.ok(("zavu.core %s loads into Neovim's %s (%s)"):format(tostring(core.version), lua_name, so))
  if #foreign > 0 then
    report.warn(
      ("package.cpath lists module directories of Lua %s: another C module found there will not load"):format(versions),
      foreign_advice(foreign, versions)
    )
  end
  local zok, zavu = pcall(require, "zavu")
  if not zok then
    report.error("the zavu Lua module does not load: " .. tostring(zavu), {
      "lua/zavu/init.lua must be on 'runtimepath' (or package.path), and lua-cjson installed.",
    })
    return
  end

  local info = type(core.curl_info) == "function" and core.curl_info() or nil
  report.ok("libcurl " .. tostring(info and info.version or zavu.curl_version))
  if info then
    if info.ssl_version and info.ssl_version ~= "" then
      report.ok("TLS: " .. info.ssl_version)
    else
      report.error(
        "libcurl has no TLS backend: https:// base URLs (the real API) cannot work",
        { "Install a libcurl built with TLS (Debian: libcurl4 with OpenSSL) and rebuild zavu.core." }
      )
    end
    if info.http2 then
      report.ok("HTTP/2: yes (delete_many shares one connection over HTTPS)")
    else
      report.warn(
        "HTTP/2: no (delete_many opens one connection per transfer in flight)",
        { "A libcurl built with nghttp2 multiplexes the batch over one connection." }
      )
    end
  else
    report.info("TLS backend and HTTP/2: this zavu.core does not report them (it has no curl_info())")
  end

  report.start("zavu: Neovim")
  if uv and type(uv.new_work) == "function" then
    report.ok(("calls run on libuv's thread pool (%s.new_work)"):format(vim.uv and "vim.uv" or "vim.loop"))
  else
    report.error("this Neovim has no libuv thread pool for Lua (new_work): zavu.nvim needs Neovim 0.7.2 or later")
    return
  end
  local nok, zn = pcall(require, "zavu.nvim")
  if not nok then
    report.error("zavu.nvim does not load: " .. tostring(zn))
  else
    local probe, done = nil, false
    local pok, perr = pcall(zn.probe, function(v, err)
      probe, done = v or err, true
    end)
    if not pok then
      report.error("a worker thread could not be started: " .. tostring(perr))
    elseif not vim.wait(5000, function() return done end, 10) then
      report.error("a worker thread did not answer within 5 s (libuv's pool is busy or stuck)")
    elseif type(probe) == "table" and probe.version then
      report.ok(("a worker thread loads zavu %s and zavu.core (%s)"):format(probe.version, tostring(probe.lua)))
    else
      report.error("a worker thread cannot load zavu: " .. tostring(probe and probe.message or probe), {
        "The thread searches 'runtimepath' (lua/zavu/...) and package.path/cpath, as Neovim does;",
        "lua-cjson must be installed where Neovim's LuaJIT finds it.",
      })
    end
  end

  report.start("zavu: configuration")
  if key == "" then
    report.warn("ZAVUDEV_API_KEY is not set", {
      "Calls end in missing_api_key unless a client is made with new { api_key = ... }.",
    })
  elseif key:find("%c") then
    report.error("ZAVUDEV_API_KEY is set but holds control characters (a stray newline?): calls will refuse it")
  elseif key:sub(1, 8) == "zv_test_" then
    report.warn("ZAVUDEV_API_KEY is set (not shown) but is a test-mode key", {
      "Messages and senders work with it (the API's sandbox); the WhatsApp Alternative endpoints refuse "
        .. "test-mode keys (test_mode_key): use a live key for sessions.",
    })
  elseif key:sub(1, 8) == "zv_live_" then
    report.ok("ZAVUDEV_API_KEY is set (a live key; not shown)")
  else
    report.warn(
      "ZAVUDEV_API_KEY is set (not shown) but is not in the form of a Zavu key",
      { "Zavu's live keys start with the prefix the dashboard shows; the API will answer unauthorized otherwise." }
    )
  end

  local env_url = os.getenv("ZAVUDEV_BASE_URL")
  local url = (env_url and env_url ~= "") and env_url or "https://api.zavu.dev"
  local origin = (env_url and env_url ~= "") and "ZAVUDEV_BASE_URL" or "the default"
  local scheme, host, shown = parse_url(url)
  if scheme == "https" and host and host ~= "" then
    report.ok(("base URL %s (%s): https"):format(shown, origin))
  elseif scheme == "http" and host and is_loopback(host) then
    report.ok(("base URL %s (%s): plain http, allowed to a loopback host"):format(shown, origin))
  elseif scheme == "http" and host and host ~= "" then
    report.error(("base URL %s (%s): plain http to a host that is not loopback"):format(shown, origin), {
      "Calls end in insecure_transport: the key would cross the network in clear.",
      "Use https://, or pass allow_insecure_http = true to new() if you really mean it.",
    })
  else
    report.error(("base URL %s (%s) is not an http(s) URL: calls end in invalid_argument"):format(shown, origin))
  end
  if url:find("[?#]") then
    report.error("the base URL holds a ? or #: the API path would land in its query or fragment")
  end
  if type(zavu.check_options) == "function" then
    local cok, cerr = pcall(zavu.check_options, {})
    if not cok then report.error("the environment makes a bad client option: " .. tostring(cerr)) end
  end
  if os.getenv("ZAVUDEV_LOG") == "debug" then
    report.info("ZAVUDEV_LOG=debug: each attempt writes a line to stderr (Neovim shows it as an error)")
  end
end

return M
