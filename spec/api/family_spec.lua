-- The WhatsApp Alternative family against the mock's small Zavu: sessions
-- through their life cycle, listings, egress nodes, the proxy, request().
local H = require "spec.helper"
local zavu = require "zavu"

-- A client with a key of its own: the mock keeps each key's sessions apart.
local function fresh(opts)
  local o = { api_key = "zv_live_" .. H.nonce() }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return H.client(o), o.api_key
end

describe("sessions", function()
  it("create, get and reconnect return the session with the API's own field names", function()
    local c = fresh()
    local s = assert(c.sessions.create { displayName = "Support", egress = { kind = "external" } })
    local sent = H.mock_last_body(s.id)
    assert.are.same({ displayName = "Support", egress = { kind = "external" } }, sent)
    assert.is_string(s.id)
    assert.are.equal("Support", s.displayName)
    assert.are.equal("initializing", s.status)
    assert.is_string(s.createdAt)
    assert.are.same(s, assert(c.sessions.get(s.id)))
    local r = assert(c.sessions.reconnect(s.id))
    assert.are.equal(s.id, r.id)
  end)

  it("create with no table sends {} and fields that are JSON null are absent", function()
    local c = fresh()
    local s = assert(c.sessions.create())
    assert.are.equal("{}", H.mock_last_raw_body(s.id))
    assert.is_nil(s.qrCode) -- null (or missing) in the mock's JSON
    assert.is_nil(s.phoneNumber)
    for _, v in pairs(s) do
      assert.is_not_equal("userdata", type(v))
    end
  end)

  it("link, unlink, set_egress and logout post what the API documents", function()
    local c = fresh()
    local s = assert(c.sessions.create { displayName = "x" })
    assert.is_table(c.sessions.link(s.id, "snd_1"))
    assert.are.same({ senderId = "snd_1" }, H.mock_last_body(s.id))
    assert.is_table(c.sessions.set_egress(s.id, { kind = "android", nodeId = "nd_1" }))
    assert.are.same({ egress = { kind = "android", nodeId = "nd_1" } }, H.mock_last_body(s.id))
    assert.is_table(c.sessions.unlink(s.id))
    assert.is_table(c.sessions.logout(s.id))
    assert.is_true(c.sessions.delete(s.id))
    local ok, err = c.sessions.get(s.id)
    assert.is_nil(ok)
    assert.are.equal(404, err.status)
  end)

  it("raises for misuse at the call site, sending nothing", function()
    local c = fresh()
    assert.has_error(
      function() c.sessions.get {} end,
      "bad argument #1 to 'get' (string expected for sessionId, got table)"
    )
    assert.has_error(function() c.sessions.link("x") end)
    assert.has_error(function() c.sessions.list { status = "ready" } end)
    assert.has_error(function()
      c.sessions.create { displayName = function() end }
    end)
    assert.has_error(function() c.sessions.list { limit = 0 / 0 } end)
    assert.has_error(function() c.request("PUT", "/v1/x") end)
  end)

  it("checks and encodes ids as one path segment", function()
    local c = fresh()
    local _, err = c.sessions.get("")
    assert.are.equal("invalid_argument", err.code)
    assert.matches("sessionId is empty", err.message)
    local id = "a/b?c#d-" .. H.nonce() -- fresh: another interpreter's run must not have fed the record
    local _, err2 = c.sessions.get(id)
    assert.are.equal(404, err2.status)
    assert.are.equal(H.escape(id), H.info(id).raw)
    assert.matches("^a%%2Fb%%3Fc%%23d%-", H.info(id).raw)
  end)
end)

describe("listings", function()
  it("page through 250 sessions: list, each and all agree, in order, each id once", function()
    local c, key = fresh()
    H.mock_seed(key, 250, { status = "disconnected" })
    local page = assert(c.sessions.list { limit = 100 })
    assert.are.equal(100, #page.items)
    assert.is_string(page.nextCursor)
    local ids, seen = {}, {}
    for s in c.sessions.each() do
      assert.is_nil(seen[s.id])
      seen[s.id] = true
      ids[#ids + 1] = s.id
    end
    assert.are.equal(250, #ids)
    local all = assert(c.sessions.all { limit = 7 })
    assert.are.equal(250, #all)
    for i, s in ipairs(all) do
      assert.are.equal(ids[i], s.id)
    end
    local last = assert(c.sessions.list { limit = 100, cursor = page.nextCursor })
    assert.are.equal(page.items[100].id, ids[100])
    assert.are.equal(last.items[1].id, ids[101])
  end)

  it("end with invalid_response when the server repeats a cursor, raised by each, returned by all", function()
    local c, key = fresh()
    H.mock_seed(key, 5, {})
    H.mock_misbehave(key, "repeat-cursor")
    local ok, err = pcall(function()
      for _ in c.sessions.each { limit = 2 } do
      end
    end)
    assert.is_false(ok)
    assert.are.equal("invalid_response", err.code)
    assert.matches("cursor", tostring(err))
    local all, err2 = c.sessions.all { limit = 2 }
    assert.is_nil(all)
    assert.are.equal("invalid_response", err2.code)
  end)

  it("end after max_pages", function()
    local c, key = fresh()
    H.mock_seed(key, 30, {})
    local all, err = c.sessions.all({ limit = 2 }, { max_pages = 3 })
    assert.is_nil(all)
    assert.matches("max_pages %(3%)", err.message)
  end)

  it("return invalid_response for a 2xx with broken JSON, never raise", function()
    local c, key = fresh()
    H.mock_misbehave(key, "broken-json")
    local page, err = c.sessions.list()
    assert.is_nil(page)
    assert.are.equal("invalid_response", err.code)
    assert.are.equal(200, err.status)
    assert.is_string(err.request_id)
  end)

  it("refuse a success body over max_response_bytes and keep one at the cap", function()
    local _, key = fresh()
    H.mock_seed(key, 3, {})
    local body = H.mock_raw_list(key)
    local exact = fresh { api_key = key, max_response_bytes = #body }
    assert.are.equal(3, #assert(exact.sessions.list()).items)
    local small = fresh { api_key = key, max_response_bytes = #body - 1 }
    local page, err = small.sessions.list()
    assert.is_nil(page)
    assert.are.equal("response_too_large", err.code)
    assert.is_false(err.retryable)
    assert.are.equal(1, err.attempts)
  end)
end)

describe("a POST", function()
  it("that times out is sent once, however many retries are allowed", function()
    local c = fresh { timeout = 0.3, max_retries = 3 }
    local id = "slow-1500-" .. H.nonce()
    local ok, err = c.sessions.reconnect(id)
    assert.is_nil(ok)
    assert.are.equal("timeout", err.code)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, H.info(id).hits)
  end)

  it("after a 5xx is not sent again; a GET is", function()
    local c = fresh { max_retries = 2 }
    local id = "flaky-1-503-" .. H.nonce()
    local _, err = c.sessions.reconnect(id)
    assert.are.equal(503, err.status)
    assert.are.equal(1, H.info(id).hits)
  end)

  it("is sent again when the server asks: 429, or x-should-retry: true", function()
    local c = fresh { max_retries = 2 }
    local id = "flaky-1-429-" .. H.nonce()
    assert.is_table(c.sessions.reconnect(id))
    assert.are.equal(2, H.info(id).hits)
    local asked = "forceretry-" .. H.nonce() -- a 400 with x-should-retry: true
    assert.is_table(c.sessions.logout(asked))
    assert.are.equal(2, H.info(asked).hits)
  end)

  it("that never reached a server (connection refused) is sent again", function()
    local c = fresh { base_url = "http://127.0.0.1:" .. H.free_port(), max_retries = 2, max_retry_wait = 0 }
    local _, err = c.sessions.create { displayName = "x" }
    assert.are.equal("connection_error", err.code)
    assert.are.equal(3, err.attempts)
  end)
end)

describe("wait", function()
  it("follows a session to ready, calling on_qr once per new QR code", function()
    local c = fresh()
    local s = assert(c.sessions.create { displayName = "auto-150" }) -- the mock moves it on every 150 ms
    local qrs = {}
    local ready = assert(c.sessions.wait(s.id, {
      interval = 0.05,
      timeout = 10,
      on_qr = function(qr, session)
        assert.are.equal("qr_ready", session.status)
        qrs[#qrs + 1] = qr
      end,
    }))
    assert.are.equal("ready", ready.status)
    assert.is_true(#qrs >= 2, "the QR code rotates")
    for i = 2, #qrs do
      assert.are_not.equal(qrs[i - 1], qrs[i])
    end
  end)

  it("ends on failed with lastError, on 404 and on its own timeout, never polling faster than interval", function()
    local c = fresh()
    local s = assert(c.sessions.create { displayName = "x" })
    H.mock_set_state(s.id, { status = "failed", lastError = "phone offline" })
    local _, err = c.sessions.wait(s.id, { interval = 0.05 })
    assert.are.equal("session_failed", err.code)
    assert.are.equal("phone offline", err.lastError)
    local _, err404 = c.sessions.wait("missing-" .. H.nonce(), { interval = 0.05 })
    assert.are.equal(404, err404.status)
    local s2 = assert(c.sessions.create { displayName = "y" })
    local before = H.mock_hits(s2.id)
    local t0 = H.now()
    local _, errt = c.sessions.wait(s2.id, { interval = 0.2, timeout = 1 })
    assert.are.equal("timeout", errt.code)
    assert.is_true(H.now() - t0 <= 1.5)
    assert.is_true(H.mock_hits(s2.id) - before <= 6, "polled " .. (H.mock_hits(s2.id) - before) .. " times")
  end)
end)

describe("a cancel between two calls", function()
  it("ends wait (cancelled) and stops prune before it deletes", function()
    local c = fresh()
    local s = assert(c.sessions.create { displayName = "auto-300" })
    local r, err = c.sessions.wait(s.id, { interval = 0.05, on_qr = function() zavu.cancel_all() end })
    assert.is_nil(r)
    assert.are.equal("cancelled", err.code)
    local c2 = fresh()
    for _ = 1, 3 do
      assert(c2.sessions.create {})
    end
    local sum, perr = c2.sessions.prune {
      status = "initializing",
      filter = function()
        zavu.cancel_all()
        return true
      end,
    }
    assert.is_nil(sum)
    assert.are.equal("cancelled", perr.code)
    assert.are.equal(3, #assert(c2.sessions.all()))
  end)

  it("wait with an interval longer than its timeout waits out the timeout", function()
    local c = fresh()
    local s = assert(c.sessions.create { displayName = "x" })
    local t0 = H.now()
    local _, err = c.sessions.wait(s.id, { interval = 10, timeout = 0.5 })
    assert.are.equal("timeout", err.code)
    assert.is_true(H.now() - t0 >= 0.45, "gave up after " .. (H.now() - t0) .. " s")
  end)
end)

describe("prune", function()
  it("with dry_run deletes nothing and says what it would delete; then deletes just those", function()
    local c, key = fresh()
    H.mock_seed(key, 4, { status = "disconnected", createdAt = "2020-01-01T00:00:00Z", prefix = "old" })
    H.mock_seed(key, 3, { status = "ready", createdAt = "2020-01-01T00:00:00Z", prefix = "live" })
    H.mock_seed(key, 2, { status = "disconnected", prefix = "new" }) -- created now
    local plan = assert(c.sessions.prune { status = { "disconnected", "failed" }, older_than = 86400, dry_run = true })
    assert.is_true(plan.dry_run)
    assert.are.equal(4, #plan.matched)
    assert.are.equal(0, #plan.deleted)
    assert.are.equal(9, #assert(c.sessions.all()))
    local done = assert(c.sessions.prune {
      status = "disconnected",
      older_than = 86400,
      filter = function(s) return s.id ~= plan.matched[1].id end,
    })
    assert.are.equal(3, #done.deleted)
    assert.are.equal(6, #assert(c.sessions.all()))
    assert.has_error(function() c.sessions.prune {} end)
  end)
end)

describe("egress nodes and the proxy", function()
  it("create, get, list, reissue the pairing token and delete", function()
    local c = fresh()
    local created = assert(c.egress_nodes.create { senderId = "snd_1", label = "Pixel" })
    local node = created.node
    assert.are.equal("snd_1", node.senderId)
    assert.is_string(created.pairing.token)
    assert.are.same(node, assert(c.egress_nodes.get(node.id)))
    local page = assert(c.egress_nodes.list { senderId = "snd_1" })
    assert.are.equal(node.id, page.items[1].id)
    local again = assert(c.egress_nodes.pairing_token(node.id))
    assert.are_not.equal(created.pairing.token, again.pairing.token)
    assert.is_true(c.egress_nodes.delete(node.id))
    assert.are.equal(0, #assert(c.egress_nodes.all { senderId = "snd_1" }))
  end)

  it(
    "proxy_status answers zavuProxyAvailable",
    function() assert.is_boolean(assert(fresh().proxy_status()).zavuProxyAvailable) end
  )
end)

describe("request", function()
  it("reaches any endpoint on the same engine", function()
    local c = fresh()
    local s = assert(c.request("POST", "/v1/whatsapp-alt/sessions", { body = { displayName = "via request" } }))
    assert.are.equal("via request", s.session.displayName)
    local page = assert(c.request("GET", "/v1/whatsapp-alt/sessions", { query = { limit = 5 } }))
    assert.are.equal(1, #page.items)
    assert.is_true(c.request("DELETE", "/v1/whatsapp-alt/sessions/{id}", { params = { s.session.id } }))
  end)

  it("refuses test-mode keys for every operation, sending nothing", function()
    local c = H.client { api_key = "zv_test_abc" }
    local _, err = c.sessions.list()
    assert.are.equal("test_mode_key", err.code)
    assert.are.equal(0, err.attempts)
  end)

  it("is on the default client too", function()
    assert.is_function(zavu.sessions.list)
    assert.is_function(zavu.sessions.each)
    assert.is_function(zavu.egress_nodes.pairing_token)
    assert.is_function(zavu.proxy_status)
  end)
end)
