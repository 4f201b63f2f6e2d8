-- messages: send (always with an idempotency key, so it is retried as a GET
-- is and never sent twice), get, list/each/all, react; the Zavu-Sender
-- header; against the mock's messages (a key per spec: its own world).
local H = require "spec.helper"
local zavu = require "zavu"

local function fresh(opts)
  local o = { api_key = "zv_live_" .. H.nonce() }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return H.client(o), o.api_key
end

local function is_key(k) return type(k) == "string" and k:match("^%x+$") ~= nil and #k >= 32 end

-- The messages the mock stored for key with this `to`.
local function stored(key, to)
  local out = {}
  for _, m in ipairs(H.mock_messages(key)) do
    if m.to == to then out[#out + 1] = m end
  end
  return out
end

describe("messages.send", function()
  it("returns the message and sends the API's fields, with a fresh idempotency key", function()
    local c, key = fresh()
    local to = "+569-" .. H.nonce()
    local m = assert(c.messages.send { to = to, text = "Hello", metadata = { order = "1" } })
    assert.are.equal("queued", m.status)
    assert.are.equal(to, m.to)
    assert.is_nil(m.errorCode) -- JSON null: absent
    local sent = H.mock_last_body(m.to)
    assert.are.equal("Hello", sent.text)
    assert.are.same({ order = "1" }, sent.metadata)
    assert.is_true(is_key(sent.idempotencyKey), tostring(sent.idempotencyKey))
    assert.are.equal(sent.idempotencyKey, stored(key, m.to)[1].idempotencyKey)
    assert.are.equal("POST", H.info(m.to).method)
    local m2 = assert(c.messages.send { to = to, text = "Hello" })
    assert.are_not.equal(m.id, m2.id) -- the same text twice is two messages: two keys
    assert.are_not.equal(sent.idempotencyKey, H.mock_last_body(m.to).idempotencyKey)
  end)

  it("keeps the caller's key, and a key used before is the API's 409, returned and not retried", function()
    local c, key = fresh()
    local k = "order-" .. H.nonce()
    local to = "+5691-" .. H.nonce()
    local m = assert(c.messages.send { to = to, text = "Paid", idempotencyKey = k })
    assert.are.equal(k, H.mock_last_body(to).idempotencyKey)
    local again, err = c.messages.send({ to = to, text = "Paid", idempotencyKey = k }, { max_retries = 3 })
    assert.is_nil(again)
    assert.are.equal(409, err.status)
    assert.are.equal(1, err.attempts)
    assert.are.equal(2, H.mock_hits(to)) -- the first send and this one: no retry
    assert.are.equal(k, err.details.idempotencyKey)
    assert.are.equal(m.id, err.details.message.id) -- what the API kept from the first
    assert.matches("used before", err.message)
    assert.are.equal(1, #stored(key, to))
  end)

  it("a send whose answer is lost after the API stored it is retried with the same key: one message", function()
    for _, how in ipairs { "close", "503", "cut" } do
      local c, key = fresh() -- a fresh connection: libcurl does not re-send by itself
      local to = ("lose-1-%s-%s"):format(how, H.nonce())
      local m, err = c.messages.send { to = to, text = "once" }
      assert.is_table(m, how .. ": " .. tostring(err))
      local kept = stored(key, to)
      assert.are.equal(1, #kept, how)
      assert.are.equal(kept[1].id, m.id)
      assert.are.equal(2, H.mock_hits(to), how)
      assert.are.equal(kept[1].idempotencyKey, H.mock_last_body(to).idempotencyKey) -- every attempt: one key
      assert.is_nil(m.errorCode)
    end
  end)

  it("a send that timed out after the API stored it: retried, one message", function()
    local c, key = fresh()
    local to = "lose-1-hang-" .. H.nonce()
    local m = assert(c.messages.send({ to = to, text = "once" }, { timeout = 0.5 }))
    assert.are.equal(1, #stored(key, to))
    assert.are.equal(stored(key, to)[1].id, m.id)
  end)

  it("the caller's key, lost on the first attempt, is that attempt's success on the retry", function()
    local c, key = fresh()
    local to = "lose-1-close-" .. H.nonce()
    local k = "mine-" .. H.nonce()
    local m = assert(c.messages.send { to = to, text = "once", idempotencyKey = k })
    assert.are.equal(1, #stored(key, to))
    assert.are.equal(k, stored(key, to)[1].idempotencyKey)
    assert.are.equal(stored(key, to)[1].id, m.id)
  end)

  it("is retried as a GET is: 5xx, 429, connection errors; not when the server says no", function()
    local c = fresh()
    local to = "flaky-2-503-" .. H.nonce()
    assert.is_table(c.messages.send({ to = to, text = "x" }, { max_retries = 2 }))
    assert.are.equal(3, H.mock_hits(to))
    to = "flaky-1-429-" .. H.nonce()
    assert.is_table(c.messages.send { to = to, text = "x" })
    assert.are.equal(2, H.mock_hits(to))
    to = "noretry-" .. H.nonce()
    local _, err = c.messages.send { to = to, text = "x" }
    assert.are.equal(503, err.status)
    assert.are.equal(1, H.mock_hits(to))
    local gone = fresh { base_url = "http://127.0.0.1:" .. H.free_port() }
    local _, err2 = gone.messages.send({ to = "+1", text = "x" }, { max_retries = 2 })
    assert.are.equal("connection_error", err2.code)
    assert.are.equal(3, err2.attempts)
    assert.is_true(is_key(err2.details.idempotencyKey))
  end)

  it("a 409 without the message is an error, never retried, with the API's details and the key", function()
    local c = fresh()
    local to = "conflict-" .. H.nonce()
    local _, err = c.messages.send({ to = to, text = "x" }, { max_retries = 3 })
    assert.are.equal(409, err.status)
    assert.are.equal("idempotency_conflict", err.code)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, H.mock_hits(to))
    assert.are.equal("in_progress", err.details.reason)
    assert.are.equal(H.mock_last_body(to).idempotencyKey, err.details.idempotencyKey)
  end)

  it("puts the key in every error: the API's, the network's", function()
    local c = fresh()
    local _, err = c.messages.send { to = "120363000000000000@g.us", channel = "sms", text = "x" }
    assert.are.equal(400, err.status)
    assert.are.equal("to", err.details.field) -- the API's details kept
    assert.is_true(is_key(err.details.idempotencyKey))
    local id = "status-500-" .. H.nonce()
    local _, err2 = c.messages.send({ to = id, text = "x", idempotencyKey = "k-" .. id }, { max_retries = 0 })
    assert.are.equal(500, err2.status)
    assert.are.same({ idempotencyKey = "k-" .. id }, err2.details)
  end)

  it("sends every field as the API names it; channels, types and group JIDs pass unrefused", function()
    local c = fresh()
    local to = "echo-" .. H.nonce()
    local body = {
      to = to,
      channel = "whatsapp_alt",
      messageType = "image",
      text = "caption",
      content = {
        mediaUrl = "https://example.com/p.jpg",
        buttons = { { id = "b1", title = "Yes" } },
        templateVariables = { ["1"] = "Ana" },
      },
      fallbackEnabled = false,
      attachments = { { filename = "a.pdf", path = "https://example.com/a.pdf" } },
    }
    local _, err = c.messages.send(body)
    local seen = require("cjson").decode(err.details.body)
    assert.are.equal("whatsapp_alt", seen.channel)
    assert.are.equal("image", seen.messageType)
    assert.are.same(body.content, seen.content)
    assert.are.same(body.attachments, seen.attachments)
    assert.is_false(seen.fallbackEnabled)
    assert.is_nil(seen.sender)
    -- not this library's to judge: the server answers
    local _, err2 = c.messages.send { to = "120363000000000000@g.us", channel = "carrier_pigeon", text = "x" }
    assert.are.equal(400, err2.status)
    assert.are.equal(1, err2.attempts)
  end)

  it("sends `sender` as the Zavu-Sender header; the client's sender is the default", function()
    local c, key = fresh { sender = "snd_default" }
    local to = "echo-" .. H.nonce()
    c.messages.send { to = to, text = "x" }
    assert.are.equal("snd_default", H.info(to).headers["zavu-sender"])
    c.messages.send { to = to, text = "x", sender = "snd_call" }
    assert.are.equal("snd_call", H.info(to).headers["zavu-sender"])
    assert.is_nil(require("cjson").decode(H.info(to).body).sender)
    local plain = fresh()
    plain.messages.send { to = to, text = "x" }
    assert.is_nil(H.info(to).headers["zavu-sender"])
    -- a sender the mock does not know: its 404, so the header reached it
    local _, err = zavu.new({ api_key = key, base_url = H.http_url }).messages.send {
      to = "+1",
      text = "x",
      sender = "snd_nobody",
    }
    assert.are.equal("sender_not_found", err.code)
  end)

  it("raises on a misspelled field or option, a wrong type, a bad sender, and sends nothing", function()
    local c, key = fresh()
    assert.has_error(
      function() c.messages.send { to = "+1", txt = "x" } end,
      "unknown body field 'txt' to 'send' (did you mean 'text'?)"
    )
    assert.has_error(
      function() c.messages.send({ to = "+1", text = "x" }, { timeuot = 1 }) end,
      "unknown option 'timeuot' to 'send' (did you mean 'timeout'?)"
    )
    assert.has_error(function() c.messages.send { to = "+1", text = "x", content = { mediaURL = "u" } } end)
    assert.has_error(function() c.messages.send { to = "+1", text = 5 } end)
    assert.has_error(
      function() c.messages.send { text = "x" } end,
      "missing body field 'to' to 'send' (string required)"
    )
    assert.has_error(function() c.messages.send { to = "+1", text = "x", sender = "a\r\nX-Evil: 1" } end)
    assert.has_error(function() c.messages.send { to = "+1", text = "x", metadata = { n = 1 } } end)
    assert.has_error(function() c.messages.send { to = "+1", text = "x", content = { buttons = { 1, 2, 3, 4 } } } end)
    assert.has_error(function() c.messages.send { to = "+1", text = zavu.null } end)
    assert.has_error(function() zavu.new { api_key = key, sender = 5 } end)
    assert.has_error(
      function() zavu.new { api_key = key, sendr = "x" } end,
      "unknown option 'sendr' to 'new' (did you mean 'sender'?)"
    )
    assert.are.equal(0, H.key_hits(key))
  end)

  it("works with a test-mode key: the sandbox; whatsapp_alt is then the server's to refuse", function()
    local key = "zv_test_" .. H.nonce()
    local c = H.client { api_key = key }
    local m = assert(c.messages.send { to = "+56912345678", text = "sandbox" })
    assert.are.same(m, assert(c.messages.get(m.id)))
    local _, err = c.messages.send { to = "+56912345678", channel = "whatsapp_alt", text = "x" }
    assert.are.equal(400, err.status)
    assert.are.equal("test_mode_unavailable", err.code)
  end)
end)

describe("messages on whatsapp_alt", function()
  it("goes through the sender linked to a ready session, to a number or a group", function()
    local c = fresh()
    local s = assert(c.senders.create { name = "Alt", phoneNumber = "+1555" .. math.random(1e6) })
    local _, refused = c.messages.send { to = "+56912345678", channel = "whatsapp_alt", text = "x", sender = s.id }
    assert.are.equal("whatsapp_alt_not_connected", refused.code)
    local session = assert(c.sessions.create { displayName = "auto-20" })
    assert(c.sessions.wait(session.id, { interval = 0.05, timeout = 10 }))
    assert(c.sessions.link(session.id, s.id))
    local m = assert(c.messages.send { to = "+56912345678", channel = "whatsapp_alt", text = "Hello", sender = s.id })
    assert.are.equal("whatsapp_alt", m.channel)
    assert.are.equal(s.id, m.senderId)
    local g = assert(c.messages.send { to = "120363000000000000@g.us", channel = "whatsapp_alt", text = "Hi all" })
    assert.are.equal(s.id, g.senderId) -- the default sender: the first one made
  end)
end)

describe("messages.get, list, each, all, react", function()
  it("get follows the message through queued, sent, delivered, read", function()
    local c = fresh()
    local m = assert(c.messages.send {
      to = "+5690-" .. H.nonce(),
      channel = "whatsapp",
      text = "x",
      metadata = { mock_step_ms = "60" },
    })
    local seen, last = { [m.status] = true }, m.status
    local deadline = H.now() + 5
    while last ~= "read" and H.now() < deadline do
      last = assert(c.messages.get(m.id)).status
      seen[last] = true
    end
    assert.are.same({ queued = true, sent = true, delivered = true, read = true }, seen)
  end)

  it("list filters by channel, status and to, and pages; each and all walk every page", function()
    local c, key = fresh()
    for i = 1, 5 do
      assert(c.messages.send { to = "+1000" .. i, text = "n" .. i })
    end
    assert(c.messages.send { to = "+10001", channel = "whatsapp", text = "w" })
    local page = assert(c.messages.list { limit = 2 })
    assert.are.equal(2, #page.items)
    assert.is_string(page.nextCursor)
    local rest = assert(c.messages.list { limit = 100, cursor = page.nextCursor })
    assert.are.equal(4, #rest.items)
    assert.is_nil(rest.nextCursor)
    assert.are.equal(2, #assert(c.messages.list { to = "+10001" }).items)
    assert.are.equal(1, #assert(c.messages.list { channel = "whatsapp" }).items)
    assert.are.equal(6, #assert(c.messages.list { status = "queued" }).items)
    assert.are.equal(0, #assert(c.messages.list { status = "read" }).items)
    local n = 0
    for m in c.messages.each { limit = 1 } do
      n = n + 1
      assert.is_string(m.id)
    end
    assert.are.equal(6, n)
    assert.are.equal(6, #assert(c.messages.all { limit = 4 }))
    assert.are.equal(6, #H.mock_messages(key))
    assert.has_error(function() c.messages.list { statsu = "read" } end)
    assert.has_error(function() c.messages.all { limit = 500 } end)
  end)

  it("react posts the emoji as the sender named and returns the reaction's message", function()
    local c = fresh()
    local s = assert(c.senders.create { name = "R" })
    local m = assert(c.messages.send { to = "+56911112222", channel = "whatsapp", text = "hi" })
    local r = assert(c.messages.react(m.id, "👍", { sender = s.id }))
    assert.are.equal("reaction", r.messageType)
    assert.are.equal(m.id, r.content.reactToMessageId)
    assert.are.equal("👍", r.content.emoji)
    assert.are.same({ emoji = "👍" }, H.mock_last_body(m.id))
    assert.are.equal(s.id, H.info(m.id).headers["zavu-sender"])
    assert.is_table(c.messages.react(m.id, "❤️", nil, { timeout = 5 }))
    assert.has_error(function() c.messages.react(m.id, "👍", { sendr = "x" }) end)
    assert.has_error(function() c.messages.react(m.id) end)
  end)

  it("a message that is not there is a 404; an answer that is not a message is invalid_response", function()
    local c, key = fresh()
    local _, err = c.messages.get("msg_nobody")
    assert.are.equal(404, err.status)
    assert.are.equal("message_not_found", err.code)
    H.mock_answer(key, '{"items": 5}')
    local _, bad = c.messages.list()
    assert.are.equal("invalid_response", bad.code)
    H.mock_answer(key, '{"nothing": true}')
    local _, bad2 = c.messages.send { to = "+1", text = "x" }
    assert.are.equal("invalid_response", bad2.code)
    H.mock_answer(key)
  end)

  it("both error shapes give the same error table", function()
    local c = fresh()
    local _, flat = c.messages.get("missing-" .. H.nonce()) -- {code, message}
    local _, nested = c.messages.get("legacy-" .. H.nonce()) -- {"error": {code, message}}
    for _, err in ipairs { flat, nested } do
      assert.are.equal(404, err.status)
      assert.is_string(err.code)
      assert.is_string(err.message)
      assert.is_false(err.retryable)
      assert.are.equal(1, err.attempts)
    end
    assert.are.equal("legacy_not_found", nested.code)
    assert.are.equal("No such session (legacy)", nested.message)
    local keys = function(t)
      local out = {}
      for k in pairs(t) do
        out[#out + 1] = k
      end
      table.sort(out)
      return table.concat(out, ",")
    end
    assert.are.equal(keys(flat), keys(nested))
  end)

  it("is on the default client", function()
    for _, name in ipairs { "send", "get", "list", "each", "all", "react" } do
      assert.is_function(zavu.messages[name])
    end
  end)
end)
