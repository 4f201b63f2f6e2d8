-- zavu_mock: a mock of the Zavu API that misbehaves on demand, served by
-- nginx with its Lua module (see mockctl). The WhatsApp Alternative family
-- is served with real state (mock_state.lua: sessions through their life
-- cycle, listings, egress nodes, the proxy status). An id in the path that
-- names a scenario - "<scenario>-<args...>" - picks a misbehaviour instead,
-- on every operation of that id; DELETE of an id the mock does not know
-- answers 204, as the API does for a session that is gone.
--
-- Every request is recorded per id; GET /_mock/info/<id> returns the record
-- (hits, connection number, method, raw URI, headers - Content-Type and
-- Content-Length among them - and body) as JSON. Requests are counted per API
-- key too, whatever their path: GET /_mock/keyhits/<key>. A create has
-- no id yet: it is logged by its displayName (sessions) or label (nodes),
-- GET /_mock/created/<name> -> { count = creates seen, ids = {...} }; and
-- GET /_mock/session/<id> is the session as stored, or 404 once it is gone
-- (what `make chaos` checks the library's answers against).
--
-- Messages and senders (/v1/messages, /v1/senders) live in mock_messaging.lua;
-- the scenarios below are theirs too (see there for what names one). Senders'
-- webhooks get real signed deliveries: mock_deliver.lua.
local cjson = require "cjson.safe"
local state = require "mock_state"
local messaging = require "mock_messaging"
local deliver = require "mock_deliver"

local M = {}
local dict = ngx.shared.mock
local PREFIX = "/v1/whatsapp-alt/sessions/"
local REVOKED_KEY = "zv_live_revoked"

local function reply(status, body, headers)
  ngx.status = status
  for k, v in pairs(headers or {}) do
    ngx.header[k] = v
  end
  ngx.header["X-Request-Id"] = ngx.header["X-Request-Id"] or ("req_" .. ngx.var.request_id)
  if type(body) == "table" then
    ngx.header["Content-Type"] = "application/json"
    body = cjson.encode(body)
  end
  if body then ngx.print(body) end
  return ngx.exit(status)
end

local function api_error(status, code, message, extra) return reply(status, { code = code, message = message }, extra) end

-- A scenario's success: 204 for a DELETE, else what the route returns (a
-- session on the WhatsApp Alternative routes).
local function success()
  if ngx.req.get_method() == "DELETE" then return reply(204) end
  if ngx.ctx.mock_success then return reply(ngx.ctx.mock_success()) end
  return reply(200, {
    session = {
      id = ngx.ctx.mock_id,
      status = "initializing",
      egress = { kind = "external" },
      createdAt = "2026-01-01T00:00:00Z",
    },
  })
end

-- The first `n` hits of this id fail with `status`, later ones succeed.
local function first_hits_fail(hits, n, status, headers, body)
  if hits <= n then return reply(status, body or { code = "try_again", message = "failing on purpose" }, headers) end
  return success()
end

local function raw_socket()
  ngx.req.discard_body()
  local sock = assert(ngx.req.socket(true))
  return sock
end

local scenarios = {}

scenarios.missing = function() return api_error(404, "session_not_found", "Session not found") end
scenarios.legacy = function() -- the older {"error": {...}} shape
  return reply(404, { error = { code = "legacy_not_found", message = "No such session (legacy)" } })
end
scenarios.details = function()
  return reply(
    422,
    { code = "session_busy", message = "Session is linking", details = { state = "linking", retry_in = 5 } }
  )
end
scenarios.status = function(args) -- an empty body with any status
  return reply(tonumber(args[1]))
end
scenarios.slow = function(args)
  ngx.sleep(tonumber(args[1]) / 1000)
  return success()
end
scenarios.par = function(args) -- par-<ms>-<tag>-<n>: records the most in flight per tag
  local tag = args[2]
  local now = dict:incr("inflight:" .. tag, 1, 0)
  if now > (dict:get("max:" .. tag) or 0) then dict:set("max:" .. tag, now) end
  ngx.sleep(tonumber(args[1]) / 1000)
  dict:incr("inflight:" .. tag, -1)
  return success()
end
scenarios.flaky = function(args, hits) -- flaky-<n>-<status>-<nonce>
  return first_hits_fail(hits, tonumber(args[1]), tonumber(args[2]), { ["retry-after-ms"] = "1" })
end
scenarios.backoff = function(args, hits) -- no hint: the client's own backoff
  return first_hits_fail(hits, tonumber(args[1]), 503)
end
scenarios.retryafter = function(args, hits) -- retryafter-<seconds>-<form>-<nonce>
  local secs = tonumber(args[1])
  local value = args[2] == "date" and ngx.http_time(ngx.time() + secs) or tostring(secs)
  return first_hits_fail(hits, 1, 429, { ["Retry-After"] = value })
end
scenarios.retryafterms = function(args, hits) return first_hits_fail(hits, 1, 503, { ["retry-after-ms"] = args[1] }) end
scenarios.ratelimit = function(args, hits) -- ratelimit-<n>-<ms>-<nonce>: n 429s, each asking for <ms>
  return first_hits_fail(
    hits,
    tonumber(args[1]),
    429,
    { ["retry-after-ms"] = args[2] },
    { code = "rate_limited", message = "slow down" }
  )
end
scenarios.noretry = function(_, hits) return first_hits_fail(hits, 1, 503, { ["x-should-retry"] = "false" }) end
scenarios.forceretry = function(_, hits)
  return first_hits_fail(hits, 1, 400, { ["x-should-retry"] = "true", ["retry-after-ms"] = "1" })
end
scenarios.html = function()
  return reply(
    502,
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
    { ["Content-Type"] = "text/html", ["x-should-retry"] = "false" }
  )
end
scenarios.badjson = function() return reply(400, '{"code": "bad', { ["Content-Type"] = "application/json" }) end
scenarios.notobject = function() return reply(400, '["code", "message"]', { ["Content-Type"] = "application/json" }) end
scenarios.wrongtypes = function()
  return reply(
    409,
    '{"code": 17, "message": {"text": "no"}, "details": "flat"}',
    { ["Content-Type"] = "application/json", ["x-should-retry"] = "false" }
  )
end
scenarios.emptystrings = function()
  return reply(403, '{"code": "", "message": ""}', { ["Content-Type"] = "application/json" })
end
scenarios.big = function(args) -- a JSON error body of about args[1] KiB
  local pad = string.rep("x", tonumber(args[1]) * 1024)
  return reply(400, { code = "big_body", message = "padded", details = { pad = pad } })
end
scenarios.huge = function() -- 20 MB that the client must not hold
  ngx.status = 400
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Content-Length"] = 20 * 1024 * 1024
  local chunk = string.rep("y", 64 * 1024)
  for _ = 1, 320 do
    local ok = ngx.print(chunk)
    if not ok then break end
    if not ngx.flush(true) then break end
  end
  return ngx.exit(400)
end
scenarios.redirect = function(args) -- redirect-<nonce>: to redirected-<nonce>, which a spec reads back
  return reply(302, nil, { Location = "http://" .. ngx.var.http_host .. PREFIX .. "redirected-" .. (args[1] or "") })
end
scenarios.close = function() -- accept, read, close without a word
  return ngx.exit(444)
end
scenarios.garbage = function() -- a reply that is not HTTP
  local sock = raw_socket()
  sock:send("SSH-2.0-OpenSSH_9.2 this is not HTTP\r\n\r\n")
  sock:close()
end
-- Faults below HTTP, written byte for byte on the raw connection.
local function raw_reply(bytes, then_wait)
  local sock = raw_socket()
  if bytes then sock:send(bytes) end
  if then_wait then ngx.sleep(then_wait) end -- bounded: the mock stops by itself
  sock:close()
end
scenarios.hang = function() -- accept, read the request, never answer
  raw_reply(nil, 30)
end
scenarios.stallbody = function() -- headers, a byte of body, then nothing
  raw_reply("HTTP/1.1 400 Bad Request\r\nContent-Length: 1000\r\n\r\n{", 30)
end
scenarios.cutbody = function() -- closes mid-body
  raw_reply(
    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
      .. 'Content-Length: 1000\r\n\r\n{"code": "cut", "message": "th'
  )
end
scenarios.longheader = function() -- one header line of 100 KiB
  raw_reply(
    "HTTP/1.1 503 Service Unavailable\r\nX-Long: " .. string.rep("a", 100 * 1024) .. "\r\nContent-Length: 0\r\n\r\n"
  )
end
scenarios.manyheaders = function() -- a thousand headers
  local h = {}
  for i = 1, 1000 do
    h[i] = "X-Header-" .. i .. ": value " .. i .. "\r\n"
  end
  raw_reply(
    "HTTP/1.1 503 Service Unavailable\r\n" .. table.concat(h) .. "x-should-retry: false\r\nContent-Length: 0\r\n\r\n"
  )
end
scenarios.badstatus = function() -- an invalid status line
  raw_reply("HTTP/1.1 2x4 Maybe\r\nContent-Length: 0\r\n\r\n")
end
scenarios.badchunk = function() -- chunked encoding with a broken chunk size
  raw_reply(
    "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n"
      .. "x-should-retry: false\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
  )
end
-- Successes whose body does not arrive whole (the review's specs).
scenarios.cutok = function() -- a 200 that promises 10 bytes, sends "123", closes
  raw_reply("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n123")
end
scenarios.stallok = function() -- a 200 whose body stalls after one byte
  raw_reply("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", 30)
end
scenarios.jsonnull = function() -- a 200 whose JSON is a bare null
  return reply(200, "null", { ["Content-Type"] = "application/json" })
end
scenarios.nulls = function() -- a 200 with nulls in an array and in objects
  return reply(200, '{"items": [1, null, {"x": null, "y": 2}], "z": null}', { ["Content-Type"] = "application/json" })
end
scenarios.nan = function() -- a 200 whose JSON is not JSON: a NaN and a hex number
  return reply(200, '{"session": {"id": "x", "n": NaN, "h": 0x10}}', { ["Content-Type"] = "application/json" })
end
scenarios.deep = function(args) -- deep-<n>: a 200 whose JSON nests n deep, {"session": [[...]]}
  local n = tonumber(args[1])
  return reply(
    200,
    '{"session": ' .. ("["):rep(n - 1) .. ("]"):rep(n - 1) .. "}",
    { ["Content-Type"] = "application/json" }
  )
end

-- lose-<n>-<how>-*: the route does its real work (a send stores its message)
-- and the answer of the first <n> requests is lost: how = close (closed
-- without a word), hang (never answered; 30 s), 503, or cut (mid-body).
-- Later requests get the real answer (a repeated idempotencyKey: 409).
scenarios.lose = function(args, hits)
  local real = ngx.ctx.mock_real
  if not real then return success() end
  local status, body, headers = real()
  if hits > tonumber(args[1]) then return reply(status, body, headers) end
  local how = args[2]
  if how == "hang" then return raw_reply(nil, 30) end
  if how == "503" then return reply(503, { code = "unavailable", message = "stored, then failed on purpose" }) end
  if how == "cut" then
    return raw_reply('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"mess')
  end
  return ngx.exit(444)
end
-- conflict-*: a 409 in the Error shape (no message), as for a duplicate
-- idempotencyKey whose first request is still being processed.
scenarios.conflict = function()
  return reply(409, {
    code = "idempotency_conflict",
    message = "a request with this idempotencyKey is in progress",
    details = { reason = "in_progress" },
  }, { ["x-should-retry"] = "false" })
end

scenarios.echo = function(_, _, record) -- send the request back as details
  return reply(418, { code = "echo", message = "echo", details = record })
end

local function record_request(id, raw)
  local hits = dict:incr("hits:" .. id, 1, 0)
  local headers = ngx.req.get_headers(200)
  ngx.req.read_body()
  local record = {
    id = id,
    raw = raw,
    hits = hits,
    method = ngx.req.get_method(),
    uri = ngx.var.request_uri,
    connection = tonumber(ngx.var.connection),
    http_version = ngx.req.http_version(),
    headers = headers,
    body = ngx.req.get_body_data() or "",
  }
  dict:set("info:" .. id, cjson.encode(record))
  return hits, record
end

local function control(path)
  local what, arg = path:match("^/_mock/(%w+)/?(.*)$")
  if what == "info" then
    return reply(200, dict:get("info:" .. ngx.unescape_uri(arg)) or "{}")
  elseif what == "max" then
    return reply(200, tostring(dict:get("max:" .. arg) or 0))
  elseif what == "keyhits" then -- requests of any path sent with this key
    return reply(200, tostring(dict:get("keyhits:" .. ngx.unescape_uri(arg)) or 0))
  elseif what == "health" then
    return reply(200, "ok")
  elseif what == "created" then
    return reply(200, dict:get("created:" .. ngx.unescape_uri(arg)) or '{"count": 0, "ids": []}')
  elseif what == "session" then
    local stored = state.stored(ngx.unescape_uri(arg))
    if not stored then return reply(404, { code = "gone", message = "no such session" }) end
    return reply(200, stored)
  end
  local status, body = state.control(what, arg)
  if not status then
    status, body = messaging.control(what, arg)
  end
  if not status then
    status, body = deliver.control(what, arg)
  end
  if status then return reply(status, body) end
  return reply(404, "no such control")
end

local function read_body()
  ngx.req.read_body()
  local text = ngx.req.get_body_data()
  if not text or text == "" then return {} end
  local body = cjson.decode(text)
  if type(body) ~= "table" then return nil, api_error(400, "invalid_request", "the body is not a JSON object") end
  return body
end

-- A create, by the name it was given: how many came, and the ids they made.
local function log_create(name, id)
  if type(name) ~= "string" then return end
  local entry = cjson.decode(dict:get("created:" .. name) or "") or { count = 0, ids = {} }
  entry.count = entry.count + 1
  entry.ids[#entry.ids + 1] = id
  dict:set("created:" .. name, cjson.encode(entry)) -- one worker, no yield since the get: atomic
end

local function not_found(what)
  return api_error(
    404,
    what == "s" and "session_not_found" or "egress_node_not_found",
    what == "s" and "Session not found" or "Egress node not found"
  )
end

-- limit: an integer 1..100, 50 when absent (the API's rules).
local function page_args()
  local args = ngx.req.get_uri_args()
  local limit = args.limit == nil and 50 or tonumber(args.limit)
  if not limit or limit ~= math.floor(limit) or limit < 1 or limit > 100 then
    return nil, api_error(400, "invalid_request", "limit must be an integer from 1 to 100", { details = nil })
  end
  return limit, args
end

local function list(kind, key, keep)
  local limit, args = page_args()
  if not limit then return end
  local page, err, mode = state.list(kind, key, limit, args.cursor, keep and keep(args))
  if not page then return api_error(400, "invalid_request", err) end
  if mode == "slow-later" and args.cursor then ngx.sleep(3) end -- every page but the first
  if mode == "broken-json" or (mode == "broken-json-later" and args.cursor) then
    return reply(200, '{"items": [{"id": ', { ["Content-Type"] = "application/json" })
  end
  return reply(200, page)
end

local EGRESS_KINDS = { external = true, android = true }

local function check_egress(e)
  return type(e) == "table" and EGRESS_KINDS[e.kind] and (e.kind ~= "android" or type(e.nodeId) == "string")
end

-- /v1/whatsapp-alt/sessions and /egress-nodes, with no id.
local function collection(coll, key, method)
  if coll == "sessions" and method == "GET" then return list("s", key) end
  if coll == "egress-nodes" and method == "GET" then
    return list("n", key, function(args)
      return args.senderId and function(n) return n.senderId == args.senderId end
    end)
  end
  if method ~= "POST" then return api_error(405, "method_not_allowed", "no " .. method .. " here") end
  local body, sent = read_body()
  if not body then return sent end
  if coll == "sessions" then
    if body.egress ~= nil and not check_egress(body.egress) then
      return reply(400, {
        code = "invalid_egress",
        message = "egress.kind must be external or android",
        details = { field = "egress.kind" },
      })
    end
    local s = state.new_session(key, body)
    record_request(s.id, s.id)
    log_create(body.displayName, s.id)
    return reply(201, { session = state.session_view(s) })
  end
  if type(body.senderId) ~= "string" then
    return reply(400, { code = "invalid_request", message = "senderId is required", details = { field = "senderId" } })
  end
  local n = state.new_node(key, body)
  record_request(n.id, n.id)
  log_create(body.label, n.id)
  return reply(201, { node = state.node_view(n), pairing = state.pairing() })
end

-- One session or node, by its id, and the actions on it.
local function member(coll, key, id, action, method)
  local kind = coll == "sessions" and "s" or "n"
  local obj = kind == "s" and state.session(key, id) or state.node(key, id)
  if method == "DELETE" and action == "" then
    if obj then
      if kind == "s" then
        state.delete_session(key, id)
      else
        state.delete_node(key, id)
      end
    end
    return reply(204) -- a session that is gone is deleted
  end
  if not obj then return not_found(kind) end
  if kind == "n" then
    if method == "GET" and action == "" then return reply(200, { node = state.node_view(obj) }) end
    if method == "POST" and action == "pairing-token" then
      return reply(200, { node = state.node_view(obj), pairing = state.pairing() })
    end
    return api_error(404, "route_not_found", "no such route")
  end
  if method == "GET" and action == "" then return reply(200, { session = state.session_view(obj) }) end
  if method ~= "POST" then return api_error(405, "method_not_allowed", "no " .. method .. " here") end
  local body, sent = read_body()
  if not body then return sent end
  if action == "reconnect" then
    return reply(202, { session = state.update_session(obj, { status = "initializing" }) })
  elseif action == "logout" then
    return reply(202, { session = state.update_session(obj, { status = "disconnected", phoneNumber = nil }) })
  elseif action == "link" then
    if type(body.senderId) ~= "string" then
      return reply(
        400,
        { code = "invalid_request", message = "senderId is required", details = { field = "senderId" } }
      )
    end
    return reply(200, { session = state.update_session(obj, { senderId = body.senderId }) })
  elseif action == "unlink" then
    return reply(200, { session = state.update_session(obj, { senderId = cjson.null }) })
  elseif action == "egress" then
    if not check_egress(body.egress) then
      return reply(400, {
        code = "invalid_egress",
        message = "egress.kind must be external or android",
        details = { field = "egress.kind" },
      })
    end
    return reply(200, { session = state.update_session(obj, { egress = body.egress }) })
  end
  return api_error(404, "route_not_found", "no such route")
end

-- What mock_messaging needs of this file: replies, the record, the scenarios.
local messaging_ctx = {
  reply = reply,
  record = function(id) return record_request(id, ngx.var.request_uri) end,
  scenario = function(id)
    local name, args_text = id:match("^(%a+)%-?(.*)$")
    local scenario = name and scenarios[name]
    if not scenario then return nil end
    local args = {}
    for a in args_text:gmatch("[^-]+") do
      args[#args + 1] = a
    end
    return function(hits, record) return scenario(args, hits, record) end
  end,
}

function M.handle()
  local uri = ngx.var.request_uri
  if uri:sub(1, 7) == "/_mock/" then return control(uri) end
  local path = uri:match("^[^?]*")
  local bearer = (ngx.var.http_authorization or ""):match("^Bearer (.+)$")
  if bearer then dict:incr("keyhits:" .. bearer, 1, 0) end
  local family, after = path:match("^.-/v1/(%l+)(.*)$") -- after a base URL's own path, if any
  if (family == "messages" or family == "senders") and (after == "" or after:sub(1, 1) == "/") then
    return messaging.handle(messaging_ctx, family, after)
  end
  local rest = path:match("^.-/v1/whatsapp%-alt/(.*)$")
  if not rest then return api_error(404, "route_not_found", "no route for " .. uri) end
  local method = ngx.req.get_method()
  local coll, tail = rest:match("^([%w%-]+)(.*)$")
  local raw, action = (tail or ""):match("^/([^/]*)/?(.*)$")
  if (coll ~= "sessions" and coll ~= "egress-nodes" and coll ~= "proxy-status") or (raw and action:find("/")) then
    if raw and coll == "sessions" and (raw:find("[?#]") or action:find("/")) then
      return api_error(400, "bad_path", "session id is not exactly one path segment")
    end
    return api_error(404, "route_not_found", "no route for " .. uri)
  end
  local id = raw and ngx.unescape_uri(raw)
  local hits, record
  if id then
    ngx.ctx.mock_id = id
    hits, record = record_request(id, raw)
  end
  local auth = ngx.var.http_authorization or ""
  if auth:find("^Bearer zv_test_.") then -- the sandbox has no WhatsApp Alternative
    return api_error(400, "test_mode_unavailable", "whatsapp_alt is not available with test-mode API keys")
  end
  if not auth:find("^Bearer zv_live_") or auth == "Bearer " .. REVOKED_KEY then
    return api_error(401, "unauthorized", "Invalid API key")
  end
  local key = auth:sub(8)
  local answer = state.answer(key) -- any route, as a spec asked (POST /_mock/answer)
  if answer then return reply(answer.status, answer.body, { ["Content-Type"] = "application/json" }) end
  if coll == "proxy-status" then return reply(200, { zavuProxyAvailable = true }) end
  if not id or id == "" then
    if id == "" then return api_error(404, "route_not_found", "no route for " .. uri) end
    return collection(coll, key, method)
  end
  local name, args_text = id:match("^(%a+)%-?(.*)$")
  local scenario = name and scenarios[name]
  if scenario then
    local args = {}
    for a in args_text:gmatch("[^-]+") do
      args[#args + 1] = a
    end
    return scenario(args, hits, record)
  end
  return member(coll, key, id, action or "", method)
end

return M
