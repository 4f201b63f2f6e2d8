-- mock_deliver: the mock's webhook deliveries. A sender whose webhook is
-- active and points at http://127.0.0.1:<port>/... (or localhost) gets real
-- signed POSTs from the mock's nginx, as Zavu would send them
-- (../../shared/api/webhooks.md): one JSON envelope, X-Zavu-Signature in the
-- sender's signatureVersion (v1+v2: both digests, one t), only the events the
-- sender subscribed to.
--
--   receipts  of every message a sender sends: message.queued, sent,
--             delivered (and read on the chat channels), each when the
--             mock's clock moves the message there (mock_messaging.lua).
--   inbound   injected by POST /_mock/inbound {senderId, kind, ...}:
--             kind = "message" (default) a one-to-one message, with
--             conversation.new first for a contact the sender has not seen;
--             "group" a group message (isGroup, groupId, groupAuthor,
--             groupName); "reaction" an inbound reaction (messageType
--             reaction, content.emoji, content.reactToMessageId); "story" a
--             contact's story (message.status). Optional fields: from, text,
--             messageType, groupId, groupName, emoji, reactTo, mimetype.
--             Answers {events = [{id, type}]}: the events made (subscribed or
--             not; unsubscribed ones are not sent).
--
-- A non-2xx answer, a timeout or a refused connection is retried after
-- 1 min, 5 min, 15 min, 1 h and 4 h (the contract's schedule) times the
-- delivery scale, with the same event id and body, re-signed with a fresh t.
--   POST /_mock/settings {delivery_scale, senderId?}  the scale (default 1), of
--                        one sender or of every sender without its own
--   GET /_mock/deliveries/<senderId>  every delivery to that sender: {items =
--        [{id, type, url, body, attempts = [{attempt, status, error?,
--        signature, at}], done, failed}]}, oldest first
--
-- Signing uses the project's own zavu.core (build/luajit, see mockctl): the
-- same HMAC-SHA256 as the verifier, over the exact bytes sent.
local cjson = require "cjson.safe"

local M = {}
local dict = ngx.shared.mock
local RETRIES = { 60, 300, 900, 3600, 14400 } -- seconds after each failed attempt
local TIMEOUT_MS = 10000
local PROJECT = "proj_mock"
local CHAT = { whatsapp = true, whatsapp_alt = true, telegram = true, instagram = true, messenger = true }
local STEPS = { "queued", "sent", "delivered", "read" }

local core_ok, core = pcall(require, "zavu.core")

local function now_ms() return math.floor(ngx.now() * 1000) end

local function load_sender(id)
  local text = id and dict:get("snd:" .. id)
  return text and cjson.decode(text)
end

local function scale(sender_id) return dict:get("deliver_scale:" .. sender_id) or dict:get("deliver_scale") or 1 end

-- http://127.0.0.1:<port>/<path> or http://localhost...: host, port, path.
local function parse_url(url)
  local host, port, path = tostring(url):match("^http://([%w%.]+):(%d+)(/?[^#]*)$")
  if not host then
    host, path = tostring(url):match("^http://([%w%.]+)(/?[^#]*)$")
    port = 80
  end
  if host ~= "127.0.0.1" and host ~= "localhost" then return nil end
  return "127.0.0.1", tonumber(port), path ~= "" and path or "/"
end

local function save(d) dict:set("dl:" .. d.senderId .. ":" .. d.n, cjson.encode(d)) end

-- One POST: the status of the answer, or nil and why there was none.
local function post(url, body, signature)
  local host, port, path = parse_url(url)
  if not host then return nil, "the mock delivers to http://127.0.0.1 only" end
  local sock = ngx.socket.tcp()
  sock:settimeouts(TIMEOUT_MS, TIMEOUT_MS, TIMEOUT_MS)
  local ok, err = sock:connect(host, port)
  if not ok then return nil, "connect: " .. tostring(err) end
  local request = table.concat {
    "POST ",
    path,
    " HTTP/1.1\r\nHost: ",
    host,
    ":",
    port,
    "\r\nUser-Agent: zavu-mock-webhooks\r\nContent-Type: application/json\r\nContent-Length: ",
    #body,
    "\r\nX-Zavu-Signature: ",
    signature,
    "\r\nConnection: close\r\n\r\n",
    body,
  }
  ok, err = sock:send(request)
  if not ok then
    sock:close()
    return nil, "send: " .. tostring(err)
  end
  local line
  line, err = sock:receive("*l")
  sock:close()
  if not line then return nil, "receive: " .. tostring(err) end
  local status = tonumber(line:match("^HTTP/1%.[01] (%d%d%d)"))
  if not status then return nil, "not an HTTP answer" end
  return status
end

local attempt -- forward: a timer's function

local function schedule(delay, d)
  local ok, err = ngx.timer.at(delay, attempt, d)
  if not ok then ngx.log(ngx.ERR, "mock_deliver: no timer: ", err) end
end

-- One attempt of delivery d (a timer); schedules the next one on failure.
function attempt(premature, d)
  if premature then return end
  local s = load_sender(d.senderId)
  local w = s and s.webhook
  local n = #d.attempts + 1
  local rec = { attempt = n, at = now_ms() }
  if not w then
    rec.error = "the sender or its webhook is gone"
  elseif not core_ok then
    rec.error = "zavu.core for LuaJIT is missing (make LUA=luajit): " .. tostring(core)
  else
    -- The sender's secret and scheme as they are now (a regenerated secret
    -- takes effect at once), a fresh t: a retry hours later is still fresh.
    rec.signature = core.webhook_sign(d.body, w.secret, ngx.time(), w.signatureVersion or "v2")
    rec.status, rec.error = post(w.url, d.body, rec.signature)
  end
  d.attempts[n] = rec
  if rec.status and rec.status >= 200 and rec.status < 300 then
    d.done = true
  elseif n > #RETRIES or not w then
    d.failed = true
  end
  save(d)
  if not d.done and not d.failed then schedule(RETRIES[n] * scale(d.senderId), d) end
end

--- Makes event `type` with `data` for sender s (a table as stored) and
-- delivers it if s subscribed to it. Returns the event's id.
function M.emit(s, event_type, data, delay)
  local id = ("evt_%d_%s"):format(now_ms(), ngx.md5(ngx.now() .. ":" .. dict:incr("ids", 1, 0)):sub(1, 8))
  local w = s.webhook
  if not (w and w.active ~= false) then return id, false end
  local wanted = false
  for _, e in ipairs(w.events or {}) do
    if e == event_type then wanted = true end
  end
  if not wanted then return id, false end
  local body = cjson.encode {
    id = id,
    type = event_type,
    timestamp = now_ms(),
    senderId = s.id,
    projectId = PROJECT,
    data = data,
  }
  local d = {
    n = dict:incr("dl:n:" .. s.id, 1, 0),
    id = id,
    type = event_type,
    senderId = s.id,
    url = w.url,
    body = body,
    attempts = {},
  }
  save(d)
  schedule(delay or 0, d)
  return id, true
end

-- A receipt of message m, when the clock moves it to `status` (a timer).
local function receipt(premature, m, status)
  if premature then return end
  local s = load_sender(m.senderId)
  if not s then return end
  M.emit(s, "message." .. status, { messageId = m.id, status = status, to = m.to, channel = m.channel })
end

--- Hook of mock_messaging: message m (as stored) was sent by sender s.
function M.sent(m, s)
  if not (s and s.webhook) then return end
  local last = CHAT[m.channel] and 4 or 3 -- read receipts come from chat apps only
  for i = 1, last do
    local ok, err = ngx.timer.at((i - 1) * m.step_ms / 1000, receipt, m, STEPS[i])
    if not ok then ngx.log(ngx.ERR, "mock_deliver: no timer: ", err) end
  end
end

-- ---- inbound traffic ----

local KINDS = { message = true, group = true, reaction = true, story = true }

local function inbound(b)
  local s = load_sender(b.senderId)
  if not s then return 404, { code = "sender_not_found", message = "no sender " .. tostring(b.senderId) } end
  local kind = b.kind or "message"
  if not KINDS[kind] then
    return 400, { code = "invalid_request", message = "kind must be message, group, reaction or story" }
  end
  local from = b.from or "+14155551234"
  local to = s.phoneNumber or "+13125551212"
  local message_id = "msg_in_" .. ngx.md5(ngx.now() .. ":" .. dict:incr("ids", 1, 0)):sub(1, 12)
  local made = {}
  local function emit(event_type, data)
    local id, sent = M.emit(s, event_type, data)
    made[#made + 1] = { id = id, type = event_type, sent = sent }
  end
  if kind == "story" then
    emit("message.status", {
      messageId = message_id,
      channel = "whatsapp_alt",
      from = from,
      to = to,
      messageType = b.messageType or (b.mimetype and "image" or "text"),
      text = b.text,
      mimetype = b.mimetype,
      providerTimestamp = now_ms() - 1000,
    })
    return 200, { events = made }
  end
  local data = {
    messageId = message_id,
    from = from,
    to = to,
    channel = "whatsapp_alt",
    messageType = kind == "reaction" and "reaction" or (b.messageType or "text"),
    text = kind ~= "reaction" and (b.text or "Hi there") or nil,
    status = "received",
    providerTimestamp = now_ms() - 1000,
  }
  if kind == "reaction" then data.content = { emoji = b.emoji or "👍", reactToMessageId = b.reactTo } end
  if kind == "group" then
    data.isGroup = true
    data.groupId = b.groupId or "120363000000000000@g.us"
    data.groupAuthor = from
    data.groupName = b.groupName
  end
  -- A thread per contact (or group); new on the first message from it.
  local peer = data.groupId or from
  local conversation = "conv_" .. ngx.md5(s.key .. peer):sub(1, 12)
  local new = dict:add("contact:" .. s.id .. ":" .. peer, true)
  data.conversationId = new and cjson.null or conversation -- null while the thread is made
  if new then
    emit("conversation.new", {
      conversationId = conversation,
      phoneNumber = peer,
      channel = "whatsapp_alt",
      firstMessageId = message_id,
      firstMessageText = data.text,
      profileName = cjson.null,
    })
  end
  emit("message.inbound", data)
  return 200, { events = made }
end

-- ---- controls ----

local function deliveries(sender_id)
  local items = {}
  for i = 1, dict:get("dl:n:" .. sender_id) or 0 do
    local text = dict:get("dl:" .. sender_id .. ":" .. i)
    items[#items + 1] = text and cjson.decode(text)
  end
  local out = cjson.encode { items = items }
  return (out:gsub('"items":{}', '"items":[]'):gsub('"attempts":{}', '"attempts":[]'))
end

--- /_mock/inbound, /_mock/settings, /_mock/deliveries/<senderId>; nil for others.
function M.control(what, arg)
  if what == "deliveries" then return 200, deliveries(ngx.unescape_uri(arg)) end
  if what ~= "inbound" and what ~= "settings" then return nil end
  ngx.req.read_body()
  local b = cjson.decode(ngx.req.get_body_data() or "")
  if type(b) ~= "table" then return 400, { code = "invalid_request", message = "a JSON object expected" } end
  if what == "inbound" then return inbound(b) end
  local v = tonumber(b.delivery_scale)
  if not v or v <= 0 then return 400, { code = "invalid_request", message = "delivery_scale must be > 0" } end
  dict:set(b.senderId and ("deliver_scale:" .. b.senderId) or "deliver_scale", v)
  return 200, { delivery_scale = v, senderId = b.senderId }
end

return M
