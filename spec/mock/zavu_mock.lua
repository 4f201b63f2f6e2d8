-- zavu_mock: a mock of the Zavu API that misbehaves on demand, served by
-- nginx with its Lua module (see mockctl). The session id picks the
-- behaviour: "<scenario>-<args...>"; any other id is deleted with a 204.
--
-- Every request is recorded per id; GET /_mock/info/<id> returns the record
-- (hits, connection number, method, raw URI, headers) as JSON.
local cjson = require "cjson.safe"

local M = {}
local dict = ngx.shared.mock
local PREFIX = "/v1/whatsapp-alt/sessions/"
local REVOKED_KEY = "zv_live_revoked"

local function reply(status, body, headers)
  ngx.status = status
  for k, v in pairs(headers or {}) do ngx.header[k] = v end
  ngx.header["X-Request-Id"] = ngx.header["X-Request-Id"] or ("req_" .. ngx.var.request_id)
  if type(body) == "table" then
    ngx.header["Content-Type"] = "application/json"
    body = cjson.encode(body)
  end
  if body then ngx.print(body) end
  return ngx.exit(status)
end

local function api_error(status, code, message, extra)
  return reply(status, { code = code, message = message }, extra)
end

-- The first `n` hits of this id fail with `status`, later ones succeed.
local function first_hits_fail(hits, n, status, headers, body)
  if hits <= n then
    return reply(status, body or { code = "try_again", message = "failing on purpose" }, headers)
  end
  return reply(204)
end

local function raw_socket()
  ngx.req.discard_body()
  local sock = assert(ngx.req.socket(true))
  return sock
end

local scenarios = {}

scenarios.missing = function()
  return api_error(404, "session_not_found", "Session not found")
end
scenarios.legacy = function() -- the older {"error": {...}} shape
  return reply(404, { error = { code = "legacy_not_found", message = "No such session (legacy)" } })
end
scenarios.details = function()
  return reply(422, { code = "session_busy", message = "Session is linking",
                      details = { state = "linking", retry_in = 5 } })
end
scenarios.status = function(args) -- an empty body with any status
  return reply(tonumber(args[1]))
end
scenarios.slow = function(args)
  ngx.sleep(tonumber(args[1]) / 1000)
  return reply(204)
end
scenarios.par = function(args) -- par-<ms>-<tag>-<n>: records the most in flight per tag
  local tag = args[2]
  local now = dict:incr("inflight:" .. tag, 1, 0)
  if now > (dict:get("max:" .. tag) or 0) then dict:set("max:" .. tag, now) end
  ngx.sleep(tonumber(args[1]) / 1000)
  dict:incr("inflight:" .. tag, -1)
  return reply(204)
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
scenarios.retryafterms = function(args, hits)
  return first_hits_fail(hits, 1, 503, { ["retry-after-ms"] = args[1] })
end
scenarios.noretry = function(_, hits)
  return first_hits_fail(hits, 1, 503, { ["x-should-retry"] = "false" })
end
scenarios.forceretry = function(_, hits)
  return first_hits_fail(hits, 1, 400, { ["x-should-retry"] = "true", ["retry-after-ms"] = "1" })
end
scenarios.html = function()
  return reply(502, "<html><body><h1>502 Bad Gateway</h1></body></html>",
               { ["Content-Type"] = "text/html", ["x-should-retry"] = "false" })
end
scenarios.badjson = function()
  return reply(400, '{"code": "bad', { ["Content-Type"] = "application/json" })
end
scenarios.notobject = function()
  return reply(400, '["code", "message"]', { ["Content-Type"] = "application/json" })
end
scenarios.wrongtypes = function()
  return reply(409, '{"code": 17, "message": {"text": "no"}, "details": "flat"}',
               { ["Content-Type"] = "application/json", ["x-should-retry"] = "false" })
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
scenarios.redirect = function()
  return reply(302, nil, { Location = "http://" .. ngx.var.http_host .. PREFIX .. "redirected" })
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
  raw_reply('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n'
    .. 'Content-Length: 1000\r\n\r\n{"code": "cut", "message": "th')
end
scenarios.longheader = function() -- one header line of 100 KiB
  raw_reply("HTTP/1.1 503 Service Unavailable\r\nX-Long: " .. string.rep("a", 100 * 1024)
    .. "\r\nContent-Length: 0\r\n\r\n")
end
scenarios.manyheaders = function() -- a thousand headers
  local h = {}
  for i = 1, 1000 do h[i] = "X-Header-" .. i .. ": value " .. i .. "\r\n" end
  raw_reply("HTTP/1.1 503 Service Unavailable\r\n" .. table.concat(h)
    .. "x-should-retry: false\r\nContent-Length: 0\r\n\r\n")
end
scenarios.badstatus = function() -- an invalid status line
  raw_reply("HTTP/1.1 2x4 Maybe\r\nContent-Length: 0\r\n\r\n")
end
scenarios.badchunk = function() -- chunked encoding with a broken chunk size
  raw_reply("HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n"
    .. "x-should-retry: false\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
end

scenarios.echo = function(_, _, record) -- send the request back as details
  return reply(418, { code = "echo", message = "echo", details = record })
end

local function record_request(id, raw)
  local hits = dict:incr("hits:" .. id, 1, 0)
  local headers = ngx.req.get_headers(200)
  ngx.req.read_body()
  local record = {
    id = id, raw = raw, hits = hits, method = ngx.req.get_method(),
    uri = ngx.var.request_uri, connection = tonumber(ngx.var.connection),
    http_version = ngx.req.http_version(),
    headers = headers, body = ngx.req.get_body_data() or "",
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
  elseif what == "health" then
    return reply(200, "ok")
  end
  return reply(404, "no such control")
end

function M.handle()
  local uri = ngx.var.request_uri
  if uri:sub(1, 7) == "/_mock/" then return control(uri) end
  local _, stop = uri:find(PREFIX, 1, true)
  if not stop then
    return api_error(404, "route_not_found", "no route for " .. uri)
  end
  local raw = uri:sub(stop + 1)
  if raw:find("[/?#]") then
    return api_error(400, "bad_path", "session id is not exactly one path segment")
  end
  local id = ngx.unescape_uri(raw)
  local hits, record = record_request(id, raw)
  local auth = ngx.var.http_authorization or ""
  if not auth:find("^Bearer zv_live_") or auth == "Bearer " .. REVOKED_KEY then
    return api_error(401, "unauthorized", "Invalid API key")
  end
  if ngx.req.get_method() ~= "DELETE" then
    return api_error(405, "method_not_allowed", "only DELETE here")
  end
  local name, rest = id:match("^(%a+)%-?(.*)$")
  local scenario = name and scenarios[name]
  if not scenario then return reply(204) end
  local args = {}
  for a in rest:gmatch("[^-]+") do args[#args + 1] = a end
  return scenario(args, hits, record)
end

return M
