-- One worker of `make chaos` (scripts/chaos starts several per interpreter):
-- a seeded mix of calls through the fault proxy, each checked against the
-- mock's own record (spec/mock: hits per id, creates per name, the stored
-- sessions). Environment: CHAOS_SEED, CHAOS_CALLS, CHAOS_WORKER,
-- CHAOS_PROXY_URL, ZAVU_MOCK_HTTP_PORT. Prints one "FAIL ..." line per broken
-- promise and ends on "chaos worker W: N calls, N failed (N errors)".
local zavu = require "zavu"
local cjson = require "cjson"
local http = require "socket.http"
local ltn12 = require "ltn12"
local socket = require "socket"

local SEED = assert(tonumber(os.getenv("CHAOS_SEED")), "CHAOS_SEED")
local CALLS = assert(tonumber(os.getenv("CHAOS_CALLS")), "CHAOS_CALLS")
local WORKER = assert(tonumber(os.getenv("CHAOS_WORKER")), "CHAOS_WORKER")
local PROXY = assert(os.getenv("CHAOS_PROXY_URL"), "CHAOS_PROXY_URL")
local MOCK = "http://127.0.0.1:" .. assert(os.getenv("ZAVU_MOCK_HTTP_PORT"), "ZAVU_MOCK_HTTP_PORT")
local TIMEOUT = 1 -- seconds per attempt; the proxy stalls answers up to 1.5 s
local TOTAL = 2.5 -- seconds a whole call may take: its total_timeout
-- The interpreter, in every name: the interpreters of a run share the mock.
local TAG = (rawget(_G, "jit") and "jit" or _VERSION:gsub("%W", "")):lower()
local KEY = ("zv_live_chaos_%d_%d_%s"):format(SEED, WORKER, TAG)

-- Park-Miller: the same numbers on every interpreter, for a replay.
local state = (SEED * 7919 + WORKER * 104729) % 2147483646 + 1
local function rand(n)
  state = (state * 48271) % 2147483647
  return state % n + 1
end

-- ---- the mock, asked directly (not through the proxy) ----

local function mock(method, path, body)
  local out, text = {}, body and cjson.encode(body)
  local _, code = http.request {
    url = MOCK .. path,
    method = method,
    source = text and ltn12.source.string(text),
    headers = text and { ["Content-Type"] = "application/json", ["Content-Length"] = #text } or nil,
    sink = ltn12.sink.table(out),
  }
  return code, table.concat(out)
end

local function esc(s)
  return (s:gsub("[^A-Za-z0-9%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local function hits(id) return cjson.decode(select(2, mock("GET", "/_mock/info/" .. esc(id)))).hits or 0 end

local function stored(id)
  local code, body = mock("GET", "/_mock/session/" .. esc(id))
  return code == 200 and cjson.decode(body) or nil
end

local function created(name) return cjson.decode(select(2, mock("GET", "/_mock/created/" .. esc(name)))) end

-- Sessions made on the mock directly, with ids of our own: the requests'
-- bytes, and so the proxy's draws, are the same in a replay.
local function seed_sessions(key, ids)
  local code = mock("POST", "/_mock/seed", { key = key, ids = ids })
  assert(code == 200, "mock seed: " .. tostring(code))
  return ids
end

local pool, made = {}, 0 -- fresh sessions of KEY
local function fresh()
  if #pool == 0 then
    local ids = {}
    for i = 1, 200 do
      ids[i] = ("c%d%sw%dn%d"):format(SEED, TAG, WORKER, made + 201 - i) -- taken from the end: in order
    end
    made = made + 200
    pool = seed_sessions(KEY, ids)
  end
  return table.remove(pool)
end

-- Listings: keys with a known set of sessions, never changed.
local LISTED = {}
for i, count in ipairs { 0, 7, 23 } do
  local ids = {}
  for k = 1, count do
    ids[k] = ("c%d%sw%dl%dn%d"):format(SEED, TAG, WORKER, i, k)
  end
  LISTED[i] = { key = KEY .. "_list" .. i, ids = seed_sessions(KEY .. "_list" .. i, ids) }
end

-- ---- the calls ----

local client = zavu.new { api_key = KEY, base_url = PROXY, timeout = TIMEOUT, connect_timeout = TIMEOUT }
local failures, errors = 0, 0
local current -- what the call in hand is, for the failure lines

local function fail(fmt, ...)
  failures = failures + 1
  print(("FAIL worker=%d call=%d %s: " .. fmt):format(WORKER, current.n, current.kind, ...))
end

local function check(cond, fmt, ...)
  if not cond then fail(fmt, ...) end
  return cond
end

-- The longest a call may take: its total_timeout (every attempt, every
-- retry wait, every transfer of a batch or a listing), plus the second the
-- issue allows.
local function bound() return TOTAL + 1 end

-- A keyless POST the server may have seen `seen` times: at most once; a
-- retryable error means it never arrived; attempts counts what it may have seen.
local function check_post(ok, err, seen, what)
  check(seen <= 1, "%s reached the server %d times", what, seen)
  if ok then return check(seen == 1, "%s succeeded but the server saw it %d times", what, seen) end
  check(not err.retryable or seen == 0, "%s: retryable error (%s) but the server saw it", what, tostring(err))
  check(err.attempts >= seen, "%s: attempts %d < %d seen", what, err.attempts, seen)
end

-- f(...), its time kept in current.took: the mock's checks are no part of it.
local function timed(f, ...)
  local t = socket.gettime()
  local value, err = f(...)
  current.took = socket.gettime() - t
  return value, err
end

local kinds = {}

kinds.delete = function(retries)
  local id = fresh()
  local ok, err = timed(client.sessions.delete, id, { max_retries = retries, total_timeout = TOTAL })
  local seen = hits(id)
  if ok then
    check(seen >= 1 and stored(id) == nil, "deleted %s, but the server has it (%d hits)", id, seen)
  else
    check(err.attempts >= seen, "delete %s: attempts %d < %d seen (%s)", id, err.attempts, seen, tostring(err))
  end
  return ok, err, bound()
end

kinds.delete_many = function(retries)
  local ids, n, concurrency = {}, rand(12) + 1, rand(4)
  for i = 1, n do
    ids[i] = fresh()
  end
  local s =
    timed(client.sessions.delete_many, ids, { max_retries = retries, concurrency = concurrency, total_timeout = TOTAL })
  local at, place = {}, {}
  for i, id in ipairs(ids) do
    at[id] = i
  end
  local last = 0
  for _, id in ipairs(s.deleted) do
    check(at[id] and not place[id], "delete_many: %s deleted twice or never given", tostring(id))
    check((at[id] or 0) > last, "delete_many: deleted out of order at %s", tostring(id))
    last, place[id] = at[id] or last, "deleted"
    check(stored(id) == nil and hits(id) >= 1, "delete_many: %s reported deleted, but the server has it", id)
  end
  last = 0
  for _, f in ipairs(s.failed) do
    check(at[f.id] and not place[f.id], "delete_many: %s failed twice, or deleted too", tostring(f.id))
    check((at[f.id] or 0) > last, "delete_many: failed out of order at %s", tostring(f.id))
    last, place[f.id] = at[f.id] or last, "failed"
    local seen = hits(f.id)
    check(f.error.attempts >= seen, "delete_many: %s attempts %d < %d seen", f.id, f.error.attempts, seen)
  end
  for _, id in ipairs(ids) do
    check(place[id], "delete_many: %s is in neither deleted nor failed", id)
  end
  check(s.total == n and s.ok == (#s.failed == 0), "delete_many: total %s, ok %s", tostring(s.total), tostring(s.ok))
  local err = s.failed[1] and s.failed[1].error
  return s.ok, err, bound()
end

kinds.create = function(retries)
  local name = ("chaos-%d-%d-%d-%s"):format(SEED, WORKER, current.n, KEY)
  local session, err = timed(
    client.sessions.create,
    { displayName = name },
    { max_retries = retries, total_timeout = TOTAL }
  )
  local log = created(name)
  check_post(session, err, log.count, "create")
  if session then
    local s = stored(session.id)
    check(
      log.ids[1] == session.id and s and s.displayName == name,
      "create returned %s, not what the server made",
      session.id
    )
  end
  return session, err, bound()
end

kinds.link = function(retries)
  local id, sender = fresh(), "snd_" .. current.n
  local session, err = timed(client.sessions.link, id, sender, { max_retries = retries, total_timeout = TOTAL })
  check_post(session, err, hits(id), "link")
  if session then
    local s = stored(id)
    check(session.id == id and s and s.senderId == sender, "link %s succeeded, but the server has no such link", id)
  end
  return session, err, bound()
end

kinds.reconnect = function(retries) -- a POST with no body
  local id = fresh()
  local session, err = timed(client.sessions.reconnect, id, { max_retries = retries, total_timeout = TOTAL })
  check_post(session, err, hits(id), "reconnect")
  return session, err, bound()
end

kinds.list = function(retries)
  local listed = LISTED[rand(#LISTED)]
  local c = zavu.new { api_key = listed.key, base_url = PROXY, timeout = TIMEOUT, connect_timeout = TIMEOUT }
  local items, err = timed(c.sessions.all, { limit = 5 }, { max_retries = retries, total_timeout = TOTAL })
  c.close()
  if items then
    local got = {}
    for i, s in ipairs(items) do
      got[i] = s.id
    end
    check(
      table.concat(got, " ") == table.concat(listed.ids, " "),
      "list: %d items, not the server's %d",
      #got,
      #listed.ids
    )
  end
  return items, err, bound()
end

kinds.get = function(retries)
  local id = LISTED[3].ids[rand(#LISTED[3].ids)]
  local c = zavu.new { api_key = LISTED[3].key, base_url = PROXY, timeout = TIMEOUT, connect_timeout = TIMEOUT }
  local session, err = timed(c.sessions.get, id, { max_retries = retries, total_timeout = TOTAL })
  c.close()
  if session then check(session.id == id, "get %s returned %s", id, tostring(session.id)) end
  return session, err, bound()
end

-- messages.send: its idempotency key makes a re-send harmless, so it is
-- retried as a GET is; the server must still store exactly one message per
-- call that succeeded, and at most one per call that failed (whose error
-- names the key, so the caller can repeat the same send).
local function sent_with(text)
  local found = {}
  for _, m in ipairs(cjson.decode(select(2, mock("GET", "/_mock/messages/" .. esc(KEY)))).items) do
    if m.text == text then found[#found + 1] = m end
  end
  return found
end

kinds.send = function(retries)
  local text = ("chaos %d %d %d %s"):format(SEED, WORKER, current.n, TAG)
  local msg, err = timed(
    client.messages.send,
    { to = "+5691234" .. ("%04d"):format(current.n % 10000), channel = "sms", text = text },
    { max_retries = retries, total_timeout = TOTAL }
  )
  local found = sent_with(text)
  check(#found <= 1, "send stored %d messages for one call", #found)
  if msg then
    check(#found == 1 and found[1].id == msg.id, "send returned %s, not the one message stored", tostring(msg.id))
  else
    check(
      type(err.details) == "table" and type(err.details.idempotencyKey) == "string",
      "a failed send does not name its idempotency key (%s)",
      tostring(err)
    )
  end
  return msg, err, bound()
end

-- The mix: a kind and its weight.
local MIX = {
  { "send", 15 },
  { "delete", 25 },
  { "delete_many", 10 },
  { "create", 15 },
  { "link", 15 },
  { "reconnect", 10 },
  { "list", 10 },
  { "get", 15 },
}
local total_weight = 0
for _, k in ipairs(MIX) do
  total_weight = total_weight + k[2]
end

local function pick()
  local r = rand(total_weight)
  for _, k in ipairs(MIX) do
    if r <= k[2] then return k[1] end
    r = r - k[2]
  end
end

for n = 1, CALLS do
  current = { n = n, kind = pick() }
  local retries = rand(3) - 1
  local ok, value, err, limit = pcall(kinds[current.kind], retries)
  if not ok then
    fail("raised %s", tostring(value))
  else
    check(value ~= nil or zavu.is_error(err), "returned neither a value nor an error table")
    check(current.took <= limit, "took %.2f s, bound %.2f s (%s)", current.took, limit, tostring(err))
    if not value then errors = errors + 1 end
  end
end

print(("chaos worker %d: %d calls, %d failed (%d errors)"):format(WORKER, CALLS, failures, errors))
os.exit(failures == 0 and 0 or 1)
