-- mock_messaging: the mock's messages and senders (/v1/messages, /v1/senders),
-- with real state in nginx's shared dictionary, kept apart per API key like
-- the sessions (mock_state.lua). Test-mode keys (zv_test_...) work here, as
-- the API's sandbox does; only a whatsapp_alt send refuses them.
--
--   messages  move on with the mock's clock: queued, sent, delivered, then
--             read on the chat channels; one step every second, or every
--             metadata.mock_step_ms. A repeated idempotencyKey (per API key)
--             sends nothing and is answered 409 with the original message.
--             whatsapp_alt needs a live key and a sender (Zavu-Sender, else
--             the default) linked to a session that is ready.
--   senders   keep their webhook (url, events, active, signatureVersion); its
--             secret is shown on create and on regenerate only.
--
-- Each route is a function returning (status, body, headers): the caller
-- replies with it, or a scenario of zavu_mock.lua runs instead - the one an id
-- in the path names, or for the collections the one named by a send's `to`, a
-- new sender's `name` or a listing's `cursor`. `lose-*` runs the route for
-- real (storing what it stores) and then loses the answer.
--
-- Control: GET /_mock/messages/<api key> - every message of that key as
-- stored (with its idempotencyKey and the Zavu-Sender it came with).
local cjson = require "cjson.safe"
local state = require "mock_state"
local deliver = require "mock_deliver"

local M = {}
local dict = ngx.shared.mock
local null = cjson.null

-- JSON arrays that stay arrays when empty (this lua-cjson has no array_mt).
local EMPTY = "@@mock_empty_array@@"
local function array(t) return t[1] == nil and EMPTY or t end
local function encode(body) return (cjson.encode(body):gsub('"' .. EMPTY .. '"', "[]")) end
local JSON = { ["Content-Type"] = "application/json" }

local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t)) end

local function new_id(prefix) return ("%s_%d%04d"):format(prefix, ngx.time() % 1000000, dict:incr("ids", 1, 0)) end

local function load(kind, id)
  local text = dict:get(kind .. ":" .. id)
  return text and cjson.decode(text)
end

local function save(kind, obj) assert(dict:set(kind .. ":" .. obj.id, cjson.encode(obj))) end

-- A key's objects in creation order: ns:<kind>:<key>:<n> = id.
local function append(kind, key, id)
  local n = dict:incr("n:" .. kind .. ":" .. key, 1, 0)
  dict:set("ns:" .. kind .. ":" .. key .. ":" .. n, id)
end

-- Every object of a key, oldest first (deleted ones skipped).
local function all(kind, key)
  local out = {}
  for i = 1, dict:get("n:" .. kind .. ":" .. key) or 0 do
    local id = dict:get("ns:" .. kind .. ":" .. key .. ":" .. i)
    local obj = id and load(kind, id)
    if obj then out[#out + 1] = obj end
  end
  return out
end

local function err(status, code, message, details) return status, { code = code, message = message, details = details } end

-- ---- what the API accepts ----

local SEND_FIELDS = {
  to = "string",
  channel = "string",
  messageType = "string",
  text = "string",
  content = "table",
  metadata = "table",
  idempotencyKey = "string",
  fallbackEnabled = "boolean",
  subject = "string",
  htmlBody = "string",
  replyTo = "string",
  attachments = "table",
  voiceLanguage = "string",
}
local SENDER_FIELDS = {
  name = "string",
  phoneNumber = "string",
  setAsDefault = "boolean",
  webhookUrl = "string",
  webhookEvents = "table",
  webhookSignatureVersion = "string",
  emailAddress = "string",
  emailDomainId = "string",
  emailFromName = "string",
  emailReceivingEnabled = "boolean",
  enableSmsOneway = "boolean",
  enableVoice = "boolean",
}
local UPDATE_ONLY = { webhookActive = "boolean", emailCatchAllEnabled = "boolean" }
local EVENTS = {}
for e in
  ([[message.queued message.sent message.delivered message.read message.failed message.inbound
  message.status message.unsupported broadcast.status_changed conversation.new template.status_changed
  invitation.status_changed call.initiated call.answered call.completed call.failed domain.verified
  domain.failed]]):gmatch("%S+")
do
  EVENTS[e] = true
end
local VERSIONS = { v1 = true, ["v1+v2"] = true, v2 = true }
local CHAT = { whatsapp = true, whatsapp_alt = true, telegram = true, instagram = true, messenger = true }

-- A 400 for a field the API does not know or a value of the wrong JSON type
-- (null only where `nullable` says so); nil when the body is fine.
local function check_body(body, fields, extra, nullable)
  for k, v in pairs(body) do
    local want = fields[k] or (extra and extra[k])
    if not want then return err(400, "invalid_request", "unknown field " .. tostring(k), { field = k }) end
    if not (v == null and nullable and nullable[k]) and type(v) ~= want then
      return err(400, "invalid_request", k .. " must be a " .. want, { field = k })
    end
  end
end

-- ---- senders ----

local function webhook_view(w, with_secret)
  if not w then return nil end
  return {
    url = w.url,
    events = array(w.events),
    active = w.active,
    signatureVersion = w.signatureVersion,
    secret = with_secret and w.secret or nil,
  }
end

local function secret() return "whsec_" .. ngx.md5(ngx.now() .. ":" .. dict:incr("ids", 1, 0)) end

local function sender(key, id)
  local s = load("snd", id)
  if not s or s.key ~= key then return nil end
  return s
end

-- The key's session linked to this sender that is ready now, if any.
local function linked_session(key, sender_id)
  for i = 1, dict:get("n:s:" .. key) or 0 do
    local id = dict:get("ns:s:" .. key .. ":" .. i)
    local s = id and state.session(key, id)
    if s and s.senderId == sender_id then
      local v = state.session_view(s)
      if v.status == "ready" then return v end
    end
  end
end

local function sender_view(s, with_secret)
  local channels = {}
  if s.phoneNumber then channels[#channels + 1] = "sms" end
  if linked_session(s.key, s.id) then channels[#channels + 1] = "whatsapp_alt" end
  return {
    id = s.id,
    name = s.name,
    phoneNumber = s.phoneNumber,
    channels = array(channels),
    isDefault = s.isDefault,
    webhook = webhook_view(s.webhook, with_secret),
    createdAt = s.createdAt,
    updatedAt = s.updatedAt,
  }
end

local function set_default(key, s)
  for _, other in ipairs(all("snd", key)) do
    if other.isDefault and other.id ~= s.id then
      other.isDefault = false
      save("snd", other)
    end
  end
  s.isDefault = true
end

local function check_webhook_fields(b)
  if b.webhookEvents ~= nil then
    for _, e in ipairs(b.webhookEvents) do
      if not EVENTS[e] then return err(400, "invalid_event", "unknown webhook event " .. tostring(e), { event = e }) end
    end
  end
  if b.webhookSignatureVersion ~= nil and not VERSIONS[b.webhookSignatureVersion] then
    return err(400, "invalid_request", "webhookSignatureVersion must be v1, v1+v2 or v2")
  end
end

local function phone_taken(key, phone, except)
  for _, other in ipairs(all("snd", key)) do
    if other.phoneNumber == phone and other.id ~= except then return true end
  end
end

local function create_sender(key, b)
  local status, body = check_body(b, SENDER_FIELDS)
  if status then return status, body end
  if b.name == nil then return err(400, "invalid_request", "name is required", { field = "name" }) end
  status, body = check_webhook_fields(b)
  if status then return status, body end
  if b.phoneNumber and phone_taken(key, b.phoneNumber) then
    return err(400, "phone_number_in_use", "another sender uses " .. b.phoneNumber, { field = "phoneNumber" })
  end
  local now = iso(ngx.time())
  local s =
    { id = new_id("snd"), key = key, name = b.name, phoneNumber = b.phoneNumber, createdAt = now, updatedAt = now }
  if b.webhookUrl then
    s.webhook = {
      url = b.webhookUrl,
      events = b.webhookEvents or {},
      active = true,
      signatureVersion = b.webhookSignatureVersion or "v2", -- new senders default to v2
      secret = secret(),
    }
  end
  if b.setAsDefault or #all("snd", key) == 0 then
    set_default(key, s)
  else
    s.isDefault = false
  end
  save("snd", s)
  append("snd", key, s.id)
  return 201, sender_view(s, true)
end

local function update_sender(s, b)
  local status, body = check_body(b, SENDER_FIELDS, UPDATE_ONLY, { webhookUrl = true })
  if status then return status, body end
  status, body = check_webhook_fields(b)
  if status then return status, body end
  if b.phoneNumber and phone_taken(s.key, b.phoneNumber, s.id) then
    return err(400, "phone_number_in_use", "another sender uses " .. b.phoneNumber, { field = "phoneNumber" })
  end
  local w = s.webhook
  if b.webhookUrl == null then
    w = nil
  elseif b.webhookUrl then
    w = w or { events = {}, active = true, signatureVersion = "v2", secret = secret() }
    w.url = b.webhookUrl
  end
  local touches = b.webhookEvents ~= nil or b.webhookActive ~= nil or b.webhookSignatureVersion ~= nil
  if touches and not w then
    return err(400, "webhook_not_configured", "the sender has no webhook: set webhookUrl first")
  end
  if b.webhookSignatureVersion then
    if w.signatureVersion == "v1" and b.webhookSignatureVersion == "v2" then
      return err(
        400,
        "invalid_signature_version",
        "go from v1 to v2 through v1+v2",
        { from = "v1", to = "v2", through = "v1+v2" }
      )
    end
    w.signatureVersion = b.webhookSignatureVersion
  end
  if b.webhookEvents then w.events = b.webhookEvents end
  if b.webhookActive ~= nil then w.active = b.webhookActive end
  s.webhook = w
  for _, k in ipairs { "name", "phoneNumber", "emailAddress", "emailFromName" } do
    if b[k] ~= nil then s[k] = b[k] end
  end
  if b.setAsDefault then set_default(s.key, s) end
  s.updatedAt = iso(ngx.time())
  save("snd", s)
  return 200, sender_view(s)
end

-- ---- messages ----

local STEPS = { "queued", "sent", "delivered", "read" }

-- The message as the API shows it now: its status follows the clock.
local function message_view(m)
  local step = math.floor((ngx.now() - m.born) * 1000 / m.step_ms) + 1
  local last = CHAT[m.channel] and 4 or 3 -- read receipts come from chat apps only
  local status = STEPS[step > last and last or step]
  return {
    id = m.id,
    channel = m.channel,
    messageType = m.messageType,
    status = status,
    to = m.to,
    from = m.from or null,
    senderId = m.senderId,
    conversationId = "conv_" .. ngx.md5(m.key .. m.to):sub(1, 12),
    text = m.text,
    content = m.content,
    metadata = m.metadata,
    providerMessageId = status ~= "queued" and ("prov_" .. m.id) or nil,
    errorCode = null,
    errorMessage = null,
    cost = null,
    createdAt = m.createdAt,
    updatedAt = m.createdAt,
  }
end

local function message(key, id)
  local m = load("msg", id)
  if not m or m.key ~= key then return nil end
  return m
end

-- The sender a send acts as: the Zavu-Sender header's, else the default.
local function acting_sender(key)
  local named = ngx.var.http_zavu_sender
  if named then
    local s = sender(key, named)
    if not s then return nil, err(404, "sender_not_found", "no sender " .. named, { senderId = named }) end
    return s
  end
  for _, s in ipairs(all("snd", key)) do
    if s.isDefault then return s end
  end
  return false -- none: the project's default is not a sender here
end

local function store(key, fields, s)
  local now = ngx.now()
  local m = {
    id = new_id("msg"),
    key = key,
    born = now,
    step_ms = 1000,
    createdAt = iso(now),
    senderId = s and s.id or nil,
    from = s and s.phoneNumber or nil,
    zavuSender = ngx.var.http_zavu_sender,
  }
  for k, v in pairs(fields) do
    m[k] = v
  end
  local step = type(m.metadata) == "table" and tonumber(m.metadata.mock_step_ms)
  if step and step > 0 then m.step_ms = step end
  save("msg", m)
  append("msg", key, m.id)
  deliver.sent(m, s) -- its receipts to the sender's webhook (mock_deliver.lua)
  return m
end

local function send(key, b)
  local status, body = check_body(b, SEND_FIELDS)
  if status then return status, body end
  if b.to == nil then return err(400, "invalid_request", "to is required", { field = "to" }) end
  local kind = b.messageType or "text"
  if kind == "text" and b.text == nil then
    return err(400, "invalid_request", "text is required for a text message", { field = "text" })
  end
  local channel = b.channel
  if channel == nil then
    channel = b.to:find("@", 1, true) and not b.to:find("@g%.us$") and "email"
      or (kind == "text" and "sms" or "whatsapp")
  end
  if b.to:find("@g%.us$") and channel ~= "whatsapp_alt" then
    return err(400, "invalid_recipient", "a group JID is a recipient on whatsapp_alt only", { field = "to" })
  end
  local s, refused, why = acting_sender(key)
  if refused then return refused, why end
  if channel == "whatsapp_alt" then
    if key:find("^zv_test_") then
      return err(400, "test_mode_unavailable", "whatsapp_alt is not available with test-mode API keys")
    end
    if not s or not linked_session(key, s.id) then
      return err(
        400,
        "whatsapp_alt_not_connected",
        "the sender has no connected whatsapp_alt session",
        { senderId = s and s.id or null }
      )
    end
  end
  if b.idempotencyKey then
    local first = dict:get("idem:" .. key .. ":" .. b.idempotencyKey)
    local original = first and message(key, first)
    if original then return 409, { message = message_view(original) } end -- nothing sent again
  end
  local m = store(key, {
    to = b.to,
    channel = channel,
    messageType = kind,
    text = b.text,
    content = b.content,
    metadata = b.metadata,
    idempotencyKey = b.idempotencyKey,
  }, s)
  if b.idempotencyKey then dict:set("idem:" .. key .. ":" .. b.idempotencyKey, m.id) end
  return 200, { message = message_view(m) }
end

local function react(key, m, b)
  local status, body = check_body(b, { emoji = "string" })
  if status then return status, body end
  if b.emoji == nil or b.emoji == "" then
    return err(400, "invalid_request", "emoji is required", { field = "emoji" })
  end
  if not CHAT[m.channel] then
    return err(400, "reactions_unsupported", "no reactions on " .. m.channel, { channel = m.channel })
  end
  local s, refused, why = acting_sender(key)
  if refused then return refused, why end
  local r = store(key, {
    to = m.to,
    channel = m.channel,
    messageType = "reaction",
    content = { emoji = b.emoji, reactToMessageId = m.id },
  }, s)
  return 200, { message = message_view(r) }
end

-- ---- listings ----

-- limit 1..100 (50 when absent); cursors are opaque offsets into the index.
local function page(kind, key, view, keep)
  local args = ngx.req.get_uri_args()
  local limit = args.limit == nil and 50 or tonumber(args.limit)
  if not limit or limit ~= math.floor(limit) or limit < 1 or limit > 100 then
    return err(400, "invalid_request", "limit must be an integer from 1 to 100", { field = "limit" })
  end
  local start = 1
  if args.cursor then
    start = tonumber(tostring(args.cursor):match("^c_(%d+)$"))
    if not start then return err(400, "invalid_request", "invalid cursor", { field = "cursor" }) end
  end
  local total = dict:get("n:" .. kind .. ":" .. key) or 0
  local items, i, next_cursor = {}, start, null
  while i <= total do
    local id = dict:get("ns:" .. kind .. ":" .. key .. ":" .. i)
    local obj = id and load(kind, id)
    local shown = obj and view(obj)
    if shown and (not keep or keep(shown, args)) then
      if #items == limit then
        next_cursor = "c_" .. i -- something is left: this page has a cursor
        break
      end
      items[#items + 1] = shown
    end
    i = i + 1
  end
  return 200, { items = array(items), nextCursor = next_cursor }
end

local function message_filter(m, args)
  return (args.channel == nil or m.channel == args.channel)
    and (args.status == nil or m.status == args.status)
    and (args.to == nil or m.to == args.to)
end

-- ---- routing ----

local function read_json()
  ngx.req.read_body()
  local text = ngx.req.get_body_data()
  if not text or text == "" then return {} end
  local body = cjson.decode(text)
  if type(body) ~= "table" then return nil, err(400, "invalid_request", "the body is not a JSON object") end
  return body
end

local function no_route(method, uri) return err(404, "route_not_found", "no route for " .. method .. " " .. uri) end

-- What a request to /v1/messages... or /v1/senders... does: returns the id it
-- is about (for the record and for scenarios: the path's id, else what names
-- a scenario in a collection's request) and the route, a function of the
-- API key that returns (status, body).
local function route(family, tail, method)
  local raw, action = tail:match("^/([^/]+)/?(.*)$")
  local id = raw and ngx.unescape_uri(raw)
  if tail ~= "" and not raw then return nil, nil end
  if family == "messages" then
    if not id then
      if method == "GET" then
        return ngx.req.get_uri_args().cursor, function(key) return page("msg", key, message_view, message_filter) end
      end
      if method ~= "POST" then return nil, nil end
      local body, bad, why = read_json()
      return body and type(body.to) == "string" and body.to or nil,
        function(key)
          if not body then return bad, why end
          return send(key, body)
        end
    end
    return id,
      function(key)
        local m = message(key, id)
        if method == "GET" and action == "" then
          if not m then return err(404, "message_not_found", "Message not found") end
          return 200, { message = message_view(m) }
        end
        if method == "POST" and action == "reactions" then
          local body, bad, why = read_json()
          if not body then return bad, why end
          if not m then return err(404, "message_not_found", "Message not found") end
          return react(key, m, body)
        end
        return no_route(method, ngx.var.request_uri)
      end
  end
  if not id then
    if method == "GET" then
      return ngx.req.get_uri_args().cursor,
        function(key)
          return page("snd", key, function(s) return sender_view(s) end)
        end
    end
    if method ~= "POST" then return nil, nil end
    local body, bad, why = read_json()
    return body and type(body.name) == "string" and body.name or nil,
      function(key)
        if not body then return bad, why end
        return create_sender(key, body)
      end
  end
  return id,
    function(key)
      local s = sender(key, id)
      if not s then return err(404, "sender_not_found", "Sender not found") end
      if action == "" and method == "GET" then return 200, sender_view(s) end
      if action == "" and method == "PATCH" then
        local body, bad, why = read_json()
        if not body then return bad, why end
        return update_sender(s, body)
      end
      if action == "" and method == "DELETE" then
        dict:delete("snd:" .. id)
        return 204
      end
      if action == "webhook/secret" and method == "POST" then
        if not s.webhook then return err(404, "webhook_not_configured", "the sender has no webhook") end
        s.webhook.secret = secret()
        save("snd", s)
        return 200, { secret = s.webhook.secret }
      end
      return no_route(method, ngx.var.request_uri)
    end
end

--- Serve /v1/messages... and /v1/senders... ctx: the mock's reply(status,
-- body), record(id) -> hits, record, and scenario(id) -> a function
-- (args, hits, record) or nil.
function M.handle(ctx, family, tail)
  local method = ngx.req.get_method()
  local id, run = route(family, tail, method)
  if not run then
    return ctx.reply(404, { code = "route_not_found", message = "no route for " .. ngx.var.request_uri })
  end
  local hits, record
  if id then
    ngx.ctx.mock_id = id
    hits, record = ctx.record(id)
  end
  local auth = ngx.var.http_authorization or ""
  local key = auth:match("^Bearer (zv_live_.+)$") or auth:match("^Bearer (zv_test_.+)$")
  if not key or key == "zv_live_revoked" then
    return ctx.reply(401, { code = "unauthorized", message = "Invalid API key" })
  end
  local answer = state.answer(key) -- any route, as a spec asked (POST /_mock/answer)
  if answer then return ctx.reply(answer.status, answer.body, JSON) end
  local function real() -- status, JSON text, headers
    local status, body = run(key)
    if body == nil then return status end
    return status, encode(body), JSON
  end
  -- What a scenario's success is here, and the real thing for lose-*.
  ngx.ctx.mock_real = real
  ngx.ctx.mock_success = function()
    if method == "GET" and tail == "" then return 200, encode { items = array {}, nextCursor = null }, JSON end
    if family == "messages" then
      return 200, { message = { id = id, channel = "sms", messageType = "text", status = "queued", to = id } }
    end
    if tail:find("/webhook/secret$") then return 200, { secret = "whsec_scenario" } end
    return 200, { id = id, name = id, phoneNumber = "+15550000000" }
  end
  local scenario = id and ctx.scenario(id)
  if scenario then return scenario(hits, record) end
  return ctx.reply(real())
end

--- The control: every message of a key, as stored.
function M.control(what, arg)
  if what ~= "messages" then return nil end
  local out = all("msg", ngx.unescape_uri(arg))
  for _, m in ipairs(out) do
    m.status = message_view(m).status
  end
  return 200, encode { items = array(out) }
end

return M
