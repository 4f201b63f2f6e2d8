-- Servers that misbehave below the API: each fault ends in a documented error
-- table within the configured timeout, and the same client works right after.
local H = require "spec.helper"

local TIMEOUT = 0.5

local function check(id_prefix, code, opts)
  local c = H.client { timeout = TIMEOUT, max_retries = 0 }
  local t = H.now()
  local ok, err = c.sessions.delete(id_prefix .. "-" .. H.nonce(), opts)
  local took = H.now() - t
  assert.is_nil(ok)
  assert.are.equal(code, err.code, tostring(err))
  assert.is_string(err.message)
  assert.is_true(#err.message > 0)
  assert.is_true(took < TIMEOUT + 0.5, "took " .. took .. " s")
  assert.is_true(c.sessions.delete("healthy-" .. H.nonce()), "the client is still usable")
  return err
end

describe("a fault", function()
  it("server that accepts and never answers: timeout", function()
    local err = check("hang", "timeout")
    assert.is_nil(err.status)
    assert.is_true(err.retryable)
  end)

  it("server that sends headers and stalls the body: timeout", function() check("stallbody", "timeout") end)

  it("server that closes mid-body: connection_error", function() check("cutbody", "connection_error") end)

  it("header line of 100 KiB: invalid_response", function()
    local err = check("longheader", "invalid_response")
    assert.is_false(err.retryable)
  end)

  it("a thousand headers: read, and the status's own error", function()
    local err = check("manyheaders", "server_error")
    assert.are.equal(503, err.status)
    assert.is_false(err.retryable) -- found x-should-retry after the thousand others
  end)

  it("invalid status line: invalid_response", function() check("badstatus", "invalid_response") end)

  it(
    "chunked encoding with a broken chunk size: connection_error",
    function() check("badchunk", "connection_error") end
  )

  -- Our CA signed both certificates: only the fault itself can fail the check.
  local function tls_error_at(port)
    local c = H.client { base_url = "https://127.0.0.1:" .. port, ca_file = H.ca_file, timeout = TIMEOUT }
    local _, err = c.sessions.delete("x")
    assert.are.equal("tls_error", err.code)
    assert.is_false(err.retryable)
    return err
  end

  it(
    "TLS certificate that has expired: tls_error",
    function() assert.matches("expired", tls_error_at(H.expired_port).message) end
  )

  it(
    "TLS certificate for another host name: tls_error",
    function() assert.matches("127.0.0.1", tls_error_at(H.wronghost_port).message) end
  )

  it("leaves delete_many settling every id the same way", function()
    local tag = H.nonce()
    local ids = { "hang-" .. tag, "cutbody-" .. tag, "badstatus-" .. tag, "fine-" .. tag }
    local s = H.client({ timeout = TIMEOUT, max_retries = 0 }).sessions.delete_many(ids)
    assert.are.same({ "fine-" .. tag }, s.deleted)
    local codes = {}
    for _, f in ipairs(s.failed) do
      codes[#codes + 1] = f.error.code
    end
    assert.are.same({ "timeout", "connection_error", "invalid_response" }, codes)
  end)
end)
