-- Shared by the specs: where the mock Zavu API runs (scripts/run-tests starts
-- it and exports ZAVU_MOCK_*), and small tools to look at what it saw.
local http = require "socket.http"
local cjson = require "cjson"

local H = {}

local function need(name)
  local v = os.getenv(name)
  assert(v and v ~= "", name .. " is not set: run the specs with `make test`")
  return v
end

H.root = need("ZAVU_TEST_ROOT")
H.lua = need("ZAVU_TEST_LUA")
H.http_port = tonumber(need("ZAVU_MOCK_HTTP_PORT"))
H.https_port = tonumber(need("ZAVU_MOCK_HTTPS_PORT"))
H.ca_file = need("ZAVU_MOCK_CA_FILE")
H.ca_path = need("ZAVU_MOCK_CA_PATH")
H.expired_port = tonumber(need("ZAVU_MOCK_EXPIRED_PORT"))
H.wronghost_port = tonumber(need("ZAVU_MOCK_WRONGHOST_PORT"))
H.http_url = "http://127.0.0.1:" .. H.http_port
H.https_url = "https://127.0.0.1:" .. H.https_port
H.key = "zv_live_spec_0123456789abcdef"

-- A fresh id suffix, so each spec's counters on the mock start at zero: the
-- interpreter, the time, a count and a salt read once per process from
-- /dev/urandom (math.random is not seeded on 5.1-5.3 and LuaJIT: two runs of
-- one interpreter would draw the same numbers, and read each other's records).
local counter = 0
local salt = (function()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(3) or ""
  if f then f:close() end
  local n = os.time()
  for i = 1, #bytes do
    n = n * 256 + bytes:byte(i)
  end
  return n % 1000000
end)()
function H.nonce()
  counter = counter + 1
  return ("%s%d%dx%d%d"):format((H.lua:gsub("%W", "")), os.time() % 100000, counter, salt, math.random(1e6))
end

-- A TCP port nothing listens on right now, as the kernel picks it.
function H.free_port()
  local s = assert(require("socket").bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

-- A client for the mock over plain HTTP, options merged over the defaults.
function H.client(opts)
  local zavu = require "zavu"
  local o = { api_key = H.key, base_url = H.http_url }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return zavu.new(o)
end

-- What the mock recorded for a session id (its last request), or {}.
function H.info(id)
  local esc = id:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end)
  local body, code = http.request(H.http_url .. "/_mock/info/" .. esc)
  assert(code == 200, "mock info: " .. tostring(code))
  return cjson.decode(body)
end

-- How many API requests the mock saw with this key, whatever their path.
function H.key_hits(key)
  local body, code = http.request(H.http_url .. "/_mock/keyhits/" .. H.escape(key))
  assert(code == 200, "mock keyhits: " .. tostring(code))
  return tonumber(body)
end

-- Every message the mock stored for this key, oldest first, as stored (with
-- its idempotencyKey and the Zavu-Sender it came with: zavuSender).
function H.mock_messages(key)
  local body, code = http.request(H.http_url .. "/_mock/messages/" .. H.escape(key))
  assert(code == 200, "mock messages: " .. tostring(code))
  return cjson.decode(body).items
end

-- The most requests of a "par-<ms>-<tag>-<n>" tag the mock had in flight at once.
function H.max_in_flight(tag)
  local body, code = http.request(H.http_url .. "/_mock/max/" .. tag)
  assert(code == 200, "mock max: " .. tostring(code))
  return tonumber(body)
end

-- ---- the mock's small Zavu (spec/mock/mock_state.lua) ----

local function mock_post(path, body)
  local ltn12 = require "ltn12"
  local text = cjson.encode(body or {})
  local out = {}
  local _, code = http.request {
    url = H.http_url .. path,
    method = "POST",
    source = ltn12.source.string(text),
    headers = { ["Content-Type"] = "application/json", ["Content-Length"] = #text },
    sink = ltn12.sink.table(out),
  }
  assert(code == 200, "mock control " .. path .. ": " .. tostring(code) .. " " .. table.concat(out))
  return cjson.decode(table.concat(out))
end

--- count sessions for key, with status, createdAt and an id prefix if given.
function H.mock_seed(key, count, opts)
  local body = { key = key, count = count }
  for k, v in pairs(opts or {}) do
    body[k] = v
  end
  return mock_post("/_mock/seed", body)
end

--- Listings of key misbehave: "repeat-cursor", "broken-json", "broken-json-later", "slow-later" (pages
-- after the first), or "" to stop.
function H.mock_misbehave(key, mode) return mock_post("/_mock/misbehave", { key = key, mode = mode }) end

--- Every request with key answers status (200) and body, the bytes given, on
-- any route; H.mock_answer(key) answers normally again.
function H.mock_answer(key, body, status) return mock_post("/_mock/answer", { key = key, body = body, status = status }) end

--- Set a session's state as given ({ status =, lastError = }): no more auto moves.
function H.mock_set_state(id, fields) return mock_post("/_mock/state/" .. H.escape(id), fields) end

--- The body of the last request about id, raw and decoded; its hit count.
function H.mock_last_raw_body(id) return H.info(id).body end
function H.mock_last_body(id) return cjson.decode(H.info(id).body) end
function H.mock_hits(id) return H.info(id).hits or 0 end

--- What GET /v1/whatsapp-alt/sessions answers for key, byte for byte.
function H.mock_raw_list(key)
  local ltn12 = require "ltn12"
  local out = {}
  local _, code = http.request {
    url = H.http_url .. "/v1/whatsapp-alt/sessions",
    headers = { Authorization = "Bearer " .. key },
    sink = ltn12.sink.table(out),
  }
  assert(code == 200, "mock list: " .. tostring(code))
  return table.concat(out)
end

-- The percent-encoding every path segment must get.
function H.escape(s)
  return (s:gsub("[^A-Za-z0-9%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function H.now() return require("socket").gettime() end

-- A temporary file holding text; returns its name.
function H.write_tmp(text)
  local name = os.tmpname()
  local f = assert(io.open(name, "w"))
  f:write(text)
  f:close()
  return name
end

-- "K='v' K2='v2' " for a shell command line.
function H.env_prefix(env)
  local prefix = ""
  for k, v in pairs(env or {}) do
    prefix = prefix .. k .. "='" .. v .. "' "
  end
  return prefix
end

-- Run a Lua file's text in a fresh interpreter of the same kind, with extra
-- environment; returns its combined output and exit code.
function H.run_lua(code, env)
  local file = H.write_tmp(code)
  local p = assert(io.popen(H.env_prefix(env) .. H.lua .. " " .. file .. ' 2>&1; echo "exit=$?"'))
  local out = p:read("*a")
  p:close()
  os.remove(file)
  local status = tonumber(out:match("exit=(%d+)%s*$"))
  return out:gsub("exit=%d+%s*$", ""), status
end

-- Run a shell command; returns stdout, stderr and exit code.
function H.sh(cmd)
  local err = os.tmpname()
  local p = assert(io.popen("(" .. cmd .. ") 2>" .. err .. '; echo "exit=$?"'))
  local out = p:read("*a")
  p:close()
  local f = io.open(err)
  local stderr = f:read("*a")
  f:close()
  os.remove(err)
  local status = tonumber(out:match("exit=(%d+)%s*$"))
  return out:gsub("exit=%d+%s*$", ""), stderr, status
end

-- Peak resident memory since the last H.reset_peak_rss(), in KiB.
function H.reset_peak_rss()
  local f = assert(io.open("/proc/self/clear_refs", "w"))
  f:write("5") -- resets VmHWM to the current RSS
  f:close()
end

function H.peak_rss_kib()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s+(%d+)")
    if kb then return tonumber(kb) end
  end
end

-- Open file descriptors of this process.
function H.open_fds()
  local p = io.popen("ls /proc/" .. H.pid() .. "/fd | wc -l")
  local n = tonumber(p:read("*a"))
  p:close()
  return n
end

function H.pid() return require("zavu_testkit").getpid() end

return H
