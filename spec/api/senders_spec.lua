-- senders: list/each/all, get, create, update (PATCH; zavu.null removes the
-- webhook), delete, regenerate_webhook_secret, against the mock's senders.
local H = require "spec.helper"
local zavu = require "zavu"
local cjson = require "cjson"

local function fresh(opts)
  local o = { api_key = "zv_live_" .. H.nonce() }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return H.client(o), o.api_key
end

local function phone() return "+1555" .. math.random(1000000, 9999999) end

describe("senders", function()
  it("create returns the sender with its webhook secret, once; get never shows it", function()
    local c = fresh()
    local s = assert(c.senders.create {
      name = "Support",
      phoneNumber = phone(),
      webhookUrl = "https://example.com/hook",
      webhookEvents = { "message.inbound", "message.delivered" },
      webhookSignatureVersion = "v1+v2",
    })
    assert.are.equal("Support", s.name)
    assert.matches("^whsec_", s.webhook.secret)
    assert.are.same({ "message.inbound", "message.delivered" }, s.webhook.events)
    assert.are.equal("v1+v2", s.webhook.signatureVersion)
    assert.is_true(s.webhook.active)
    local got = assert(c.senders.get(s.id))
    assert.is_nil(got.webhook.secret)
    assert.are.equal(s.webhook.url, got.webhook.url)
    local sent = H.mock_last_body(s.name)
    assert.are.same({ "message.inbound", "message.delivered" }, sent.webhookEvents)
  end)

  it("a new sender without webhookSignatureVersion is on v2", function()
    local c = fresh()
    local s = assert(c.senders.create { name = "New", webhookUrl = "https://example.com/h" })
    assert.are.equal("v2", s.webhook.signatureVersion)
  end)

  it("update is a PATCH of the fields given; zavu.null reaches the wire as null and removes the webhook", function()
    local c = fresh()
    local s = assert(c.senders.create {
      name = "Hooked",
      webhookUrl = "https://example.com/h",
      webhookSignatureVersion = "v1",
    })
    local u = assert(c.senders.update(s.id, { webhookSignatureVersion = "v1+v2", webhookActive = false }))
    assert.are.equal("v1+v2", u.webhook.signatureVersion)
    assert.is_false(u.webhook.active)
    assert.are.equal("PATCH", H.info(s.id).method)
    assert.are.same({ webhookSignatureVersion = "v1+v2", webhookActive = false }, H.mock_last_body(s.id))
    u = assert(c.senders.update(s.id, { webhookEvents = {} }))
    assert.are.equal('{"webhookEvents":[]}', H.mock_last_raw_body(s.id)) -- an array, even empty
    assert.are.same({}, u.webhook.events)
    u = assert(c.senders.update(s.id, { webhookUrl = zavu.null }))
    assert.are.equal('{"webhookUrl":null}', H.mock_last_raw_body(s.id))
    assert.is_nil(u.webhook)
    assert.is_nil(assert(c.senders.get(s.id)).webhook)
    -- a table with a metatable takes the Lua checks' way (zavu.core's takes plain ones): the same wire
    local proxy = setmetatable({}, { __index = { webhookUrl = "https://example.com/h2", webhookEvents = {} } })
    assert(c.senders.update(s.id, proxy))
    assert.are.same({ webhookUrl = "https://example.com/h2", webhookEvents = {} }, H.mock_last_body(s.id))
    assert.matches('"webhookEvents":%[%]', H.mock_last_raw_body(s.id))
    assert(c.senders.update(s.id, setmetatable({ webhookUrl = zavu.null }, {})))
    assert.are.equal('{"webhookUrl":null}', H.mock_last_raw_body(s.id))
  end)

  it("v1 straight to v2 is the API's 400, not retried, with its details", function()
    local c = fresh()
    local s =
      assert(c.senders.create { name = "Old", webhookUrl = "https://example.com/h", webhookSignatureVersion = "v1" })
    local _, err = c.senders.update(s.id, { webhookSignatureVersion = "v2" }, { max_retries = 2 })
    assert.are.equal(400, err.status)
    assert.are.equal("invalid_signature_version", err.code)
    assert.are.equal("v1+v2", err.details.through)
    assert.are.equal(1, err.attempts)
  end)

  it("regenerate_webhook_secret returns a new secret; the old one is gone", function()
    local c = fresh()
    local s = assert(c.senders.create { name = "Rot", webhookUrl = "https://example.com/h" })
    local r = assert(c.senders.regenerate_webhook_secret(s.id))
    assert.matches("^whsec_", r.secret)
    assert.are_not.equal(s.webhook.secret, r.secret)
    assert.are.equal("POST", H.info(s.id).method)
    assert.are.equal("", H.info(s.id).body) -- no body
    local none = assert(c.senders.create { name = "NoHook" })
    local _, err = c.senders.regenerate_webhook_secret(none.id)
    assert.are.equal(404, err.status)
  end)

  it("list pages; each and all walk every page; delete removes one", function()
    local c = fresh()
    local ids = {}
    for i = 1, 3 do
      ids[i] = assert(c.senders.create { name = "S" .. i, phoneNumber = phone() }).id
    end
    local page = assert(c.senders.list { limit = 2 })
    assert.are.equal(2, #page.items)
    assert.is_true(page.items[1].isDefault) -- the first sender is the default
    assert.is_false(page.items[2].isDefault)
    local n = 0
    for s in c.senders.each { limit = 1 } do
      n = n + 1
      assert.are.equal(ids[n], s.id)
    end
    assert.are.equal(3, n)
    assert.is_true(c.senders.delete(ids[2]))
    assert.are.equal(2, #assert(c.senders.all()))
    local _, err = c.senders.get(ids[2])
    assert.are.equal(404, err.status)
    assert.are.equal("sender_not_found", err.code)
    local _, err2 = c.senders.delete(ids[2])
    assert.are.equal(404, err2.status)
    assert.is_true(c.senders.delete(ids[2], { missing_ok = true }))
  end)

  it("raises on misuse and sends nothing", function()
    local c, key = fresh()
    assert.has_error(
      function() c.senders.create { nam = "x" } end,
      "unknown body field 'nam' to 'create' (did you mean 'name'?)"
    )
    assert.has_error(function() c.senders.create { webhookUrl = "https://x" } end)
    assert.has_error(
      function() c.senders.update("snd_1", { webhookURL = "https://x" }) end,
      "unknown body field 'webhookURL' to 'update' (did you mean 'webhookUrl'?)"
    )
    assert.has_error(function() c.senders.update("snd_1", { webhookEvents = "message.inbound" }) end)
    assert.has_error(function() c.senders.update("snd_1", { webhookEvents = { [2] = "a" } }) end)
    assert.has_error(function() c.senders.update("snd_1", { webhookActive = zavu.null }) end)
    assert.has_error(function() c.senders.create { name = "x", webhookUrl = zavu.null } end) -- only update's is nullable
    assert.has_error(
      function() c.senders.get({}) end,
      "bad argument #1 to 'get' (string expected for senderId, got table)"
    )
    assert.has_error(function() c.senders.list { limit = 0 } end)
    assert.has_error(function() c.senders.regenerate_webhook_secret("snd_1", { timout = 1 }) end)
    assert.are.equal(0, H.key_hits(key))
  end)

  it("every fault of the mock reaches them: slow, hang, 5xx, 429, cut bodies", function()
    local c = fresh()
    local t = H.now()
    assert.is_table(c.senders.get("slow-200-" .. H.nonce()))
    assert.is_true(H.now() - t >= 0.19) -- the mock sleeps 200 ms (timers round a little)
    local _, err = c.senders.get("hang-" .. H.nonce(), { timeout = 0.3, max_retries = 0 })
    assert.are.equal("timeout", err.code)
    local id = "flaky-2-503-" .. H.nonce()
    assert.is_table(c.senders.get(id))
    assert.are.equal(3, H.mock_hits(id))
    id = "flaky-1-429-" .. H.nonce()
    assert.is_table(c.senders.update(id, { name = "x" }))
    assert.are.equal(2, H.mock_hits(id))
    local _, cut = c.senders.get("cutok-" .. H.nonce(), { max_retries = 0 })
    assert.are.equal("connection_error", cut.code)
    local _, listed = c.senders.list { cursor = "status-502-" .. H.nonce() }
    assert.are.equal(502, listed.status)
    local name = "flaky-1-503-" .. H.nonce()
    local _, created = c.senders.create({ name = name }, { max_retries = 2 }) -- a POST: not again after a 5xx
    assert.are.equal(503, created.status)
    assert.are.equal(1, H.mock_hits(name))
  end)

  it("work with a test-mode key", function()
    local c = H.client { api_key = "zv_test_" .. H.nonce() }
    local s = assert(c.senders.create { name = "Sandbox" })
    assert.are.same(s, assert(c.senders.get(s.id)))
  end)

  it("are on the default client", function()
    for _, name in ipairs { "list", "each", "all", "get", "create", "update", "delete", "regenerate_webhook_secret" } do
      assert.is_function(zavu.senders[name])
    end
    assert.are.equal(cjson.null, zavu.null)
  end)
end)
