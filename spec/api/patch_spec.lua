-- PATCH joins the engine's methods with the POST rule (sent again only when
-- surely unsent, on a 429, or when the answer says x-should-retry: true), and
-- test-mode keys reach the API except where the description refuses them.
local H = require "spec.helper"

local function fresh(opts)
  local o = { api_key = "zv_live_" .. H.nonce() }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return H.client(o), o.api_key
end

local function patch(c, id, body, opts)
  local args = { params = { id }, body = body or {} }
  for k, v in pairs(opts or {}) do
    args[k] = v
  end
  return c.request("PATCH", "/v1/senders/{id}", args)
end

describe("PATCH", function()
  it("sends the method, the JSON body and its content type", function()
    local c = fresh()
    local s = assert(c.request("POST", "/v1/senders", { body = { name = "P" } }))
    local u = assert(patch(c, s.id, { name = "Q" }))
    assert.are.equal("Q", u.name)
    local seen = H.info(s.id)
    assert.are.equal("PATCH", seen.method)
    assert.are.equal('{"name":"Q"}', seen.body)
    assert.are.equal("application/json", seen.headers["content-type"])
  end)

  it("is not sent again after a 5xx once sent", function()
    local c = fresh()
    local id = "flaky-1-503-" .. H.nonce()
    local ok, err = patch(c, id, {}, { max_retries = 2 })
    assert.is_nil(ok)
    assert.are.equal(503, err.status)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, H.mock_hits(id))
  end)

  it("is not sent again after a timeout once sent", function()
    local c = fresh()
    local id = "hang-" .. H.nonce()
    local _, err = patch(c, id, {}, { max_retries = 2, timeout = 0.3 })
    assert.are.equal("timeout", err.code)
    assert.are.equal(1, err.attempts)
  end)

  it("is sent again on a 429 and when the server says x-should-retry: true", function()
    local c = fresh()
    local id = "flaky-1-429-" .. H.nonce()
    assert.is_table(patch(c, id, {}, { max_retries = 1 }))
    assert.are.equal(2, H.mock_hits(id))
    id = "forceretry-" .. H.nonce()
    assert.is_table(patch(c, id, {}, { max_retries = 1 }))
    assert.are.equal(2, H.mock_hits(id))
  end)

  it("is sent again when it surely never left: nothing listens", function()
    local c = fresh { base_url = "http://127.0.0.1:" .. H.free_port() }
    local _, err = patch(c, "x", {}, { max_retries = 2 })
    assert.are.equal("connection_error", err.code)
    assert.are.equal(3, err.attempts)
  end)

  it("is a method request() accepts; PUT is not", function()
    local c = fresh()
    assert.has_error(function() c.request("PUT", "/v1/senders") end)
  end)
end)

describe("a test-mode key", function()
  it("reaches the API on the routes the sandbox serves", function()
    local c = fresh { api_key = "zv_test_" .. H.nonce() }
    local page = assert(c.request("GET", "/v1/senders"))
    assert.are.same({}, page.items)
  end)

  it("is refused locally, with nothing sent, by the WhatsApp Alternative operations", function()
    local key = "zv_test_" .. H.nonce()
    local c = fresh { api_key = key }
    local _, err = c.sessions.get("s-" .. H.nonce())
    assert.are.equal("test_mode_key", err.code)
    assert.are.equal(0, err.attempts)
    local _, err2 = c.sessions.delete("s-" .. H.nonce())
    assert.are.equal("test_mode_key", err2.code)
  end)

  it("is the server's to refuse through request(), the escape hatch", function()
    local c = fresh { api_key = "zv_test_" .. H.nonce() }
    local _, err = c.request("GET", "/v1/whatsapp-alt/sessions")
    assert.are.equal(400, err.status)
    assert.are.equal("test_mode_unavailable", err.code)
  end)
end)
