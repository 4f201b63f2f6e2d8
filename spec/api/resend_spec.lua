-- Nothing done twice unseen: a POST without an idempotency key reaches the
-- server at most once per call, whatever libcurl does underneath, and an
-- error says whether the server may have seen it (retryable = false, the
-- status if one came, attempts counting every request it may have seen).
-- The faults come from the fault proxy (spec/support/faultproxy.c).
local H = require "spec.helper"
local faultproxy = require "spec.support.faultproxy"

local proxy

local function client(opts)
  local o = { base_url = proxy.url, max_retry_wait = 0 }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return H.client(o)
end

local function hits(id) return H.info(id).hits or 0 end

-- A client whose connection is open and kept alive, the next request on it
-- read by the server and then closed without a byte back (the proxy relays
-- it, drops the answer and closes).
local function kept_alive_then_lost(opts)
  local c = client(opts)
  proxy:force("drop_second")
  assert.is_true(c.sessions.delete("warm-" .. H.nonce()))
  return c
end

describe("a POST without an idempotency key", function()
  before_each(function() proxy = faultproxy.start() end)
  after_each(function() proxy:stop() end)

  it("read on a kept-alive connection that then closes is not sent again by libcurl", function()
    for _, call in ipairs {
      function(c, id) return c.sessions.reconnect(id) end, -- no body
      function(c, id) return c.sessions.link(id, "snd_resend") end, -- a JSON body
    } do
      local c = kept_alive_then_lost { max_retries = 2 }
      local before = proxy:stats().requests
      local id = "resend-" .. H.nonce()
      local ok, err = call(c, id)
      assert.is_nil(ok)
      assert.are.equal(1, hits(id), "the server saw it once")
      assert.are.equal("connection_error", err.code)
      assert.is_false(err.retryable)
      assert.is_nil(err.status)
      assert.are.equal(1, err.attempts)
      assert.matches("may have", err.message)
      assert.are.equal(before + 1, proxy:stats().requests, "nothing went out after the lost one")
    end
  end)

  it("keeps its connection when nothing goes wrong", function()
    local c = client()
    for _ = 1, 5 do
      local _, err = c.sessions.reconnect("keep-" .. H.nonce())
      assert.are.equal(404, err.status) -- the mock knows no such session: an answer all the same
    end
    assert.are.same({ 1, 5 }, { proxy:stats().connections, proxy:stats().requests })
  end)

  it("whose connection was reset before the server read it says it may have arrived", function()
    proxy:force("reset_before")
    local id = "rb-" .. H.nonce()
    local ok, err = client({ max_retries = 2 }).sessions.reconnect(id)
    assert.is_nil(ok)
    assert.are.equal(0, hits(id)) -- the proxy knows; the library cannot
    assert.are.equal("connection_error", err.code)
    assert.is_false(err.retryable)
    assert.are.equal(1, err.attempts)
  end)

  it("that timed out on a stalled answer is not retryable", function()
    proxy:force("stall:1500")
    local id = "stall-" .. H.nonce()
    local ok, err = client({ timeout = 0.3, max_retries = 2 }).sessions.reconnect(id)
    assert.is_nil(ok)
    assert.are.equal("timeout", err.code)
    assert.is_false(err.retryable)
    assert.are.same({ 1, 1 }, { err.attempts, hits(id) })
  end)

  it("refused before any connection is sent again, and only then", function()
    proxy:refuse(300)
    local c = client { max_retries = 2 }
    local id = "refused-" .. H.nonce()
    local _, err = c.sessions.reconnect(id)
    assert.are.equal(404, err.status) -- the second attempt got through
    assert.are.equal(2, err.attempts)
    assert.are.equal(1, hits(id))
  end)

  it("whose error is retryable surely never reached the server", function()
    local c = H.client { base_url = "http://127.0.0.1:" .. H.free_port(), max_retries = 0 }
    local _, err = c.sessions.create { displayName = "never" }
    assert.are.equal("connection_error", err.code)
    assert.is_true(err.retryable)
    assert.are.equal(1, err.attempts)
  end)
end)

describe("a GET or DELETE on a kept-alive connection that closes unanswered", function()
  before_each(function() proxy = faultproxy.start() end)
  after_each(function() proxy:stop() end)

  it("is sent again by libcurl, and attempts counts both requests", function()
    local c = kept_alive_then_lost()
    local id = "twice-" .. H.nonce()
    -- the handle's request answers with the status and attempts too
    local v, status, attempts = c.handle:request("DELETE", "/v1/whatsapp-alt/sessions/{id}", { id })
    assert.are.same({ true, 204 }, { v, status })
    assert.are.equal(2, hits(id))
    assert.are.equal(2, attempts)
  end)
end)

describe("a 2xx whose body is cut", function()
  it("after a POST: the status, not retryable (the server did the work), sent once", function()
    local id = "cutok-" .. H.nonce() -- the mock's 200 that closes mid-body
    local ok, err = H.client({ max_retries = 2, max_retry_wait = 0 }).sessions.reconnect(id)
    assert.is_nil(ok)
    assert.are.equal(200, err.status)
    assert.are.equal("connection_error", err.code)
    assert.is_false(err.retryable)
    assert.matches("200", err.message)
    assert.are.same({ 1, 1 }, { err.attempts, hits(id) })
  end)

  it("after a DELETE: the status, not retryable (it was deleted)", function()
    local id = "cutok-" .. H.nonce()
    local v, err = H.client({ max_retries = 2 })
      .request("DELETE", "/v1/whatsapp-alt/sessions/{id}", { params = { id } })
    assert.is_nil(v)
    assert.are.same({ 200, false, 1 }, { err.status, err.retryable, err.attempts })
    assert.are.equal(1, hits(id))
  end)

  it("after a GET: the status, retried (harmless), retryable", function()
    local id = "cutok-" .. H.nonce()
    local v, err = H.client({ max_retries = 1, max_retry_wait = 0 }).sessions.get(id)
    assert.is_nil(v)
    assert.are.same({ 200, "connection_error", true, 2 }, { err.status, err.code, err.retryable, err.attempts })
    assert.are.equal(2, hits(id))
  end)

  it(
    "is still a deletion for sessions.delete, which needs no body",
    function() assert.is_true(H.client({ max_retries = 0 }).sessions.delete("cutok-" .. H.nonce())) end
  )
end)
