-- bench/clients.lua <what> <base-url> <count> [ca-file]: one benchmark client.
-- Prints "<seconds> <ok-count>" for the timed part only (start-up excluded);
-- pair prints "<loop-seconds> <delete_many-seconds> <ok-count of both>".
-- what is a name, then for many and pair ":<concurrency>" (many: 32); then
-- for pair ":many" to time delete_many before the loop rather than after, and
-- for many ":warm" to open its connections (one delete_many of as many ids as
-- the concurrency) before the timed call, as the loop's warm-up does.
local what, conc, first = arg[1]:match("^(%a+):?(%d*):?(%a*)$")
local base, n, ca = arg[2], tonumber(arg[3]), arg[4]
conc = tonumber(conc)
local socket = require "socket"

local function id(i) return "bench-" .. i end
local run = {}

function run.zavu() -- this module: sequential deletes on one client
  local client = require("zavu").new { api_key = "zv_live_bench", base_url = base, ca_file = ca }
  -- The same 100 untimed warm-up deletes as the raw loop: connection up,
  -- caches warm, and LuaJIT's traces compiled.
  for i = 1, 100 do
    client.sessions.delete("warm-" .. i)
  end
  local ok = 0
  local t = socket.gettime()
  for i = 1, n do
    if client.sessions.delete(id(i)) == true then ok = ok + 1 end
  end
  return socket.gettime() - t, ok
end

function run.send() -- this module: messages.send on one client, each with a fresh key
  local client = require("zavu").new { api_key = "zv_live_bench", base_url = base, ca_file = ca, sender = "snd_bench" }
  local send = client.messages.send
  -- One fields table, as the floor encodes one: send never changes it (the
  -- key, fresh each time, is added to what is written, not to the table).
  local fields = { to = "+56912345678", channel = "whatsapp_alt", text = "Hello" }
  local function one() return send(fields) end
  for _ = 1, 100 do -- warm-up, as the raw loop's
    one()
  end
  local ok = 0
  local t = socket.gettime()
  for _ = 1, n do
    local m = one()
    if m and m.id then ok = ok + 1 end
  end
  return socket.gettime() - t, ok
end

local function request_with(http_module)
  local ok = 0
  local t = socket.gettime()
  for i = 1, n do
    local _, code = http_module.request {
      method = "DELETE",
      url = base .. "/v1/whatsapp-alt/sessions/" .. id(i),
      headers = { authorization = "Bearer zv_live_bench", accept = "application/json" },
      cafile = ca,
      verify = ca and "peer" or nil,
    }
    if code == 204 then ok = ok + 1 end
  end
  return socket.gettime() - t, ok
end

function run.luasocket() return request_with(require "socket.http") end
function run.luasec() return request_with(require "ssl.https") end

function run.many() -- delete_many on a fresh client
  local client = require("zavu").new { api_key = "zv_live_bench", base_url = base, ca_file = ca }
  local ids, warm = {}, {}
  for i = 1, n do
    ids[i] = id(i)
  end
  if first == "warm" then
    for i = 1, conc or 32 do
      warm[i] = "warm-" .. i
    end
    client.sessions.delete_many(warm, { concurrency = conc or 32 })
  end
  local t = socket.gettime()
  local summary = client.sessions.delete_many(ids, { concurrency = conc or 32 })
  return socket.gettime() - t, #summary.deleted
end

function run.pair() -- a loop of delete and delete_many of the same ids, one client
  local client = require("zavu").new { api_key = "zv_live_bench", base_url = base, ca_file = ca }
  local delete, delete_many = client.sessions.delete, client.sessions.delete_many
  local ids, warm = {}, {}
  for i = 1, n do
    ids[i] = id(i)
  end
  for i = 1, 200 do
    warm[i] = "warm-" .. i
  end
  -- Both warmed alike: the loop's connection, then delete_many's (one over
  -- HTTP/2, one per slot over HTTP/1.1), so neither times a handshake.
  for i = 1, 100 do
    delete(warm[i])
  end
  delete_many(warm, { concurrency = conc })
  local function loop()
    local ok = 0
    local t = socket.gettime()
    for i = 1, n do
      if delete(ids[i]) == true then ok = ok + 1 end
    end
    return socket.gettime() - t, ok
  end
  local function many()
    local t = socket.gettime()
    local summary = delete_many(ids, { concurrency = conc })
    return socket.gettime() - t, #summary.deleted
  end
  local ls, lok, ms, mok
  if first == "many" then
    ms, mok = many()
    ls, lok = loop()
  else
    ls, lok = loop()
    ms, mok = many()
  end
  return ls, lok + mok, ms
end

function run.rss() -- resident memory growth across n deletes on one client
  local client = require("zavu").new { api_key = "zv_live_bench", base_url = base, ca_file = ca }
  local function rss()
    for l in io.lines("/proc/self/status") do
      local kb = l:match("^VmRSS:%s+(%d+)")
      if kb then return tonumber(kb) end
    end
  end
  for i = 1, 1000 do
    client.sessions.delete(id(i))
  end -- warm: caches, buffers, the connection
  collectgarbage()
  local before, ok = rss(), 0
  for i = 1, n do
    if client.sessions.delete(id(i)) == true then ok = ok + 1 end
  end
  collectgarbage()
  return rss() - before, ok
end

local seconds, ok, many_seconds = assert(run[what], "unknown client " .. tostring(what))()
if what == "pair" then
  print(string.format("%.6f %.6f %d", seconds, many_seconds, ok))
else
  print(string.format(what == "rss" and "%d %d" or "%.6f %d", seconds, ok))
end
