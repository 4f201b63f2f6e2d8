-- The fault proxy (spec/support/faultproxy.c, built as build/faultproxy) from
-- Lua: start one in front of the mock's HTTP port, force the fault of the
-- next requests or set the weights of its seeded draw, read its counts.
--
--   local proxy = faultproxy.start { seed = 7, weights = "pass=9,lose=1" }
--   proxy:force("lose")                    -- the next request: relayed, answer lost
--   local c = zavu.new { base_url = proxy.url, ... }
--   proxy:stop()
local socket = require "socket"

local M = {}
local Proxy = {}
Proxy.__index = Proxy

local function root() return os.getenv("ZAVU_TEST_ROOT") or "." end

--- The proxy's binary: build/faultproxy, made by `make build/faultproxy`.
function M.binary() return root() .. "/build/faultproxy" end

local function read_file(name)
  local f = io.open(name)
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return text
end

--- Start a proxy. opts: upstream (port; the mock's HTTP port by default),
-- seed, weights ("pass=9,lose=1"), stall_max (ms), log (a file for one line
-- per request), lifetime (s: it exits by itself after that long; 600).
function M.start(opts)
  opts = opts or {}
  local upstream = opts.upstream or os.getenv("ZAVU_MOCK_HTTP_PORT")
  assert(upstream, "ZAVU_MOCK_HTTP_PORT is not set: start the mock first")
  local binary = M.binary()
  assert(io.open(binary), binary .. " is missing: run `make build/faultproxy`"):close()
  local info = os.tmpname()
  os.remove(info)
  local args = { binary, "-u", tostring(upstream), "-o", info, "-L", tostring(opts.lifetime or 600) }
  if opts.seed then args[#args + 1] = "-s " .. tostring(opts.seed) end
  if opts.weights then args[#args + 1] = "-w " .. opts.weights end
  if opts.stall_max then args[#args + 1] = "-S " .. tostring(opts.stall_max) end
  if opts.log then args[#args + 1] = "-l " .. opts.log end
  assert(os.execute(table.concat(args, " ") .. " >/dev/null 2>&1 &"))
  local text
  for _ = 1, 500 do
    text = read_file(info)
    if text and text:find("pid=%d+") then break end
    socket.sleep(0.01)
  end
  os.remove(info)
  assert(text and text:find("pid=%d+"), "faultproxy did not start")
  local p = setmetatable({}, Proxy)
  for k, v in text:gmatch("(%w+)=(%d+)") do
    p[k] = k == "seed" and v or tonumber(v) -- a seed may pass 2^53
  end
  p.url = "http://127.0.0.1:" .. p.port
  return p
end

--- Send one control command, return its one-line answer.
function Proxy:command(line)
  local s = assert(socket.tcp())
  s:settimeout(5)
  assert(s:connect("127.0.0.1", self.control))
  assert(s:send(line .. "\n"))
  local answer = assert(s:receive("*l"))
  s:close()
  assert(not answer:find("^error"), "faultproxy " .. line .. ": " .. answer)
  return answer
end

--- The next requests get these modes, in order: "lose", "stall:800", ...
function Proxy:force(...) return self:command("next " .. table.concat({ ... }, " ")) end

--- Refuse new connections for ms milliseconds, from now.
function Proxy:refuse(ms) return self:command("refuse " .. ms) end

function Proxy:weights(spec) return self:command("weights " .. spec) end

--- { requests = N, connections = N, forced = N, pass = N, lose = N, ... }
function Proxy:stats()
  local t = {}
  for k, v in self:command("stats"):gmatch("([%w_]+)=(%d+)") do
    t[k] = tonumber(v)
  end
  return t
end

function Proxy:stop()
  pcall(self.command, self, "quit")
  os.execute("kill " .. self.pid .. " 2>/dev/null")
end

return M
