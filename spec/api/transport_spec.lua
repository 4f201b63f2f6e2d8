-- Failures below HTTP: no connection, no answer in time, TLS, non-HTTP replies.
local H = require "spec.helper"

local function assert_transport_error(err, code)
  assert.is_table(err)
  assert.are.equal(code, err.code)
  assert.is_nil(err.status)
  assert.is_string(err.message)
  assert.is_true(#err.message > 0)
end

describe("a transport error", function()
  it("is connection_error when nothing listens, retried max_retries times", function()
    local c = H.client { base_url = "http://127.0.0.1:1", max_retries = 1 }
    local ok, err = c.sessions.delete("x")
    assert.is_nil(ok)
    assert_transport_error(err, "connection_error")
    assert.is_true(err.retryable)
    assert.are.equal(2, err.attempts)
  end)

  it("is connection_error when the server closes without a reply", function()
    local id = "close-" .. H.nonce()
    local _, err = H.client { max_retries = 1 }.sessions.delete(id)
    assert_transport_error(err, "connection_error")
    assert.are.equal(2, err.attempts)
    assert.are.equal(2, H.info(id).hits)
  end)

  it("is timeout when a reply takes longer than timeout, per attempt", function()
    local c = H.client { timeout = 0.3, max_retries = 1 }
    local t = H.now()
    local _, err = c.sessions.delete("slow-3000-" .. H.nonce())
    local took = H.now() - t
    assert_transport_error(err, "timeout")
    assert.is_true(err.retryable)
    assert.are.equal(2, err.attempts)
    assert.is_true(took >= 0.6 and took < 2.5, "took " .. took)
  end)

  it("bounds the TCP connect by connect_timeout", function()
    -- A listener whose backlog is full: the kernel drops further SYNs, so a
    -- connect hangs on loopback as it would to an unreachable host.
    local socket = require "socket"
    local server = assert(socket.tcp())
    assert(server:bind("127.0.0.1", 0))
    assert(server:listen(0))
    local _, port = server:getsockname()
    local fillers = {}
    for i = 1, 4 do
      fillers[i] = socket.tcp()
      fillers[i]:settimeout(0)
      fillers[i]:connect("127.0.0.1", port)
    end
    local c = H.client { base_url = "http://127.0.0.1:" .. port, connect_timeout = 0.3, max_retries = 0 }
    local t = H.now()
    local _, err = c.sessions.delete("x")
    local took = H.now() - t
    for _, f in ipairs(fillers) do
      f:close()
    end
    server:close()
    assert_transport_error(err, "timeout")
    -- libcurl words it "Failed to connect ... Timeout" or "Connection timeout after", by timing
    assert.matches("[Cc]onnect", err.message)
    assert.is_true(took >= 0.29 and took < 1.5, "took " .. took)
  end)

  it("takes timeout per call", function()
    local c = H.client()
    local _, err = c.sessions.delete("slow-2000-" .. H.nonce(), { timeout = 0.2, max_retries = 0 })
    assert_transport_error(err, "timeout")
    assert.is_true(c.sessions.delete("slow-300-" .. H.nonce())) -- the client's 60 s again
  end)

  it("is invalid_response when the reply is not HTTP, and not retried", function()
    local id = "garbage-" .. H.nonce()
    local _, err = H.client().sessions.delete(id)
    assert_transport_error(err, "invalid_response")
    assert.is_false(err.retryable)
    assert.are.equal(1, err.attempts)
  end)

  it("leaves the client healthy after each failure", function()
    local c = H.client { max_retries = 0, timeout = 0.3 }
    for _, id in ipairs { "close-", "garbage-", "slow-1000-", "huge-", "html-" } do
      c.sessions.delete(id .. H.nonce())
      assert.is_true(c.sessions.delete("fine-" .. H.nonce()), "after " .. id)
    end
  end)
end)

describe("TLS", function()
  it("verifies the server: an unknown CA is a tls_error, not retried", function()
    local c = H.client { base_url = H.https_url }
    local _, err = c.sessions.delete("x-" .. H.nonce())
    assert_transport_error(err, "tls_error")
    assert.is_false(err.retryable)
    assert.are.equal(1, err.attempts)
  end)

  it("trusts a private CA given as ca_file", function()
    local c = H.client { base_url = H.https_url, ca_file = H.ca_file }
    assert.is_true(c.sessions.delete("tls-" .. H.nonce()))
  end)

  it("trusts a private CA given as ca_path", function()
    local c = H.client { base_url = "https://localhost:" .. H.https_port, ca_path = H.ca_path }
    assert.is_true(c.sessions.delete("tls-" .. H.nonce()))
  end)

  it("carries API errors over HTTPS too", function()
    local c = H.client { base_url = H.https_url, ca_file = H.ca_file }
    local _, err = c.sessions.delete("missing-" .. H.nonce())
    assert.are.equal(404, err.status)
    assert.are.equal("session_not_found", err.code)
  end)
end)
