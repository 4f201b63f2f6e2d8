-- bench/clients.lua <what> <base-url> <count> [ca-file]: one benchmark client.
-- Prints "<seconds> <ok-count>" for the timed part only (start-up excluded).
local what, base, n, ca = arg[1], arg[2], tonumber(arg[3]), arg[4]
local socket = require "socket"

local function id(i) return "bench-" .. i end
local run = {}

function run.zavu() -- this module: sequential deletes on one client
  local client = require("zavu").new { api_key = "zv_live_bench", base_url = base, ca_file = ca }
  -- The same 100 untimed warm-up deletes as the raw loop: connection up,
  -- caches warm, and LuaJIT's traces compiled.
  for i = 1, 100 do client.sessions.delete("warm-" .. i) end
  local ok = 0
  local t = socket.gettime()
  for i = 1, n do
    if client.sessions.delete(id(i)) == true then ok = ok + 1 end
  end
  return socket.gettime() - t, ok
end

local function request_with(http_module)
  local ok = 0
  local t = socket.gettime()
  for i = 1, n do
    local _, code = http_module.request {
      method = "DELETE", url = base .. "/v1/whatsapp-alt/sessions/" .. id(i),
      headers = { authorization = "Bearer zv_live_bench", accept = "application/json" },
      cafile = ca, verify = ca and "peer" or nil,
    }
    if code == 204 then ok = ok + 1 end
  end
  return socket.gettime() - t, ok
end

function run.luasocket() return request_with(require "socket.http") end
function run.luasec() return request_with(require "ssl.https") end

function run.many() -- delete_many at concurrency 32
  local client = require("zavu").new { api_key = "zv_live_bench", base_url = base, ca_file = ca }
  local ids = {}
  for i = 1, n do ids[i] = id(i) end
  local t = socket.gettime()
  local summary = client.sessions.delete_many(ids, { concurrency = 32 })
  return socket.gettime() - t, #summary.deleted
end

function run.rss() -- resident memory growth across n deletes on one client
  local client = require("zavu").new { api_key = "zv_live_bench", base_url = base, ca_file = ca }
  local function rss()
    for l in io.lines("/proc/self/status") do
      local kb = l:match("^VmRSS:%s+(%d+)")
      if kb then return tonumber(kb) end
    end
  end
  for i = 1, 1000 do client.sessions.delete(id(i)) end -- warm: caches, buffers, the connection
  collectgarbage()
  local before, ok = rss(), 0
  for i = 1, n do
    if client.sessions.delete(id(i)) == true then ok = ok + 1 end
  end
  collectgarbage()
  return rss() - before, ok
end

local seconds, ok = assert(run[what], "unknown client " .. tostring(what))()
print(string.format(what == "rss" and "%d %d" or "%.6f %d", seconds, ok))
