-- The official SDKs' retry policy: which replies are retried, and how long
-- the client waits in between.
local H = require "spec.helper"

describe("retries", function()
  local client = H.client() -- max_retries defaults to 2

  it("retry a 503 twice by default and then succeed", function()
    local id = "flaky-2-503-" .. H.nonce()
    assert.is_true(client.sessions.delete(id))
    assert.are.equal(3, H.info(id).hits)
  end)

  it("give up after max_retries more attempts, reporting them", function()
    local id = "flaky-5-503-" .. H.nonce()
    local ok, err = client.sessions.delete(id)
    assert.is_nil(ok)
    assert.are.equal(503, err.status)
    assert.are.equal(3, err.attempts)
    assert.is_true(err.retryable)
    assert.are.equal(3, H.info(id).hits)
  end)

  for _, status in ipairs { 408, 409, 429, 500, 502, 504 } do
    it("retry " .. status, function()
      local id = "flaky-1-" .. status .. "-" .. H.nonce()
      assert.is_true(client.sessions.delete(id))
      assert.are.equal(2, H.info(id).hits)
    end)
  end

  for _, status in ipairs { 400, 401, 403, 404, 422 } do
    it("never retry " .. status, function()
      local id = "flaky-1-" .. status .. "-" .. H.nonce()
      local _, err = client.sessions.delete(id)
      assert.are.equal(status, err.status)
      assert.is_false(err.retryable)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, H.info(id).hits)
    end)
  end

  it("obey x-should-retry: false on a 503", function()
    local id = "noretry-" .. H.nonce()
    local _, err = client.sessions.delete(id)
    assert.are.equal(503, err.status)
    assert.is_false(err.retryable)
    assert.are.equal(1, H.info(id).hits)
  end)

  it("obey x-should-retry: true on a 400", function()
    local id = "forceretry-" .. H.nonce()
    assert.is_true(client.sessions.delete(id))
    assert.are.equal(2, H.info(id).hits)
  end)

  it("take max_retries per call", function()
    local id = "flaky-1-503-" .. H.nonce()
    local _, err = client.sessions.delete(id, { max_retries = 0 })
    assert.are.equal(1, err.attempts)
    local c = H.client { max_retries = 0 }
    local _, err2 = c.sessions.delete("flaky-1-503-" .. H.nonce())
    assert.are.equal(1, err2.attempts)
  end)

  it("wait retry-after-ms", function()
    local t = H.now()
    assert.is_true(client.sessions.delete("retryafterms-300-" .. H.nonce()))
    assert.is_true(H.now() - t >= 0.29)
  end)

  it("wait Retry-After given in seconds", function()
    local t = H.now()
    assert.is_true(client.sessions.delete("retryafter-1-secs-" .. H.nonce()))
    assert.is_true(H.now() - t >= 0.95)
  end)

  it("wait Retry-After given as an HTTP date", function()
    local t = H.now()
    assert.is_true(client.sessions.delete("retryafter-2-date-" .. H.nonce()))
    local waited = H.now() - t
    assert.is_true(waited >= 0.9 and waited < 3.5, "waited " .. waited)
  end)

  it("report the wait the server asked for", function()
    local _, err = client.sessions.delete("retryafter-7-secs-" .. H.nonce(), { max_retries = 0 })
    assert.are.equal(429, err.status)
    assert.are.equal(7, err.retry_after)
    local _, err2 = client.sessions.delete("retryafterms-250-" .. H.nonce(), { max_retries = 0 })
    assert.are.equal(0.25, err2.retry_after)
  end)

  it("cap a server-requested wait (60 s by default, max_retry_wait here)", function()
    local c = H.client { max_retry_wait = 0.2 }
    local t = H.now()
    assert.is_true(c.sessions.delete("retryafter-3600-secs-" .. H.nonce()))
    assert.is_true(H.now() - t < 2)
  end)

  it("back off 0.5 s (less up to 25 % jitter) without a hint", function()
    local t = H.now()
    assert.is_true(client.sessions.delete("backoff-1-" .. H.nonce()))
    local waited = H.now() - t
    assert.is_true(waited >= 0.37 and waited < 1.5, "waited " .. waited)
  end)

  it("back off exponentially: 0.5 s then 1 s", function()
    local t = H.now()
    assert.is_true(client.sessions.delete("backoff-2-" .. H.nonce()))
    local waited = H.now() - t
    assert.is_true(waited >= 1.12 and waited < 2.5, "waited " .. waited)
  end)
end)
