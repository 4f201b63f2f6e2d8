-- What comes back: true on 2xx, or nil and an error table built from the reply.
local H = require "spec.helper"
local zavu = require "zavu"

local function assert_error_shape(err)
  assert.is_table(err)
  assert.is_string(err.code)
  assert.is_string(err.message)
  assert.is_true(#err.message > 0)
  assert.is_boolean(err.retryable)
  assert.is_number(err.attempts)
  assert.are.equal(zavu.error_mt, getmetatable(err))
end

describe("a successful delete", function()
  local client = H.client()

  it("returns exactly true on 204", function()
    local id = "plain-" .. H.nonce()
    local n = select("#", client.sessions.delete(id))
    local ok = client.sessions.delete("other-" .. H.nonce())
    assert.are.equal(1, n)
    assert.is_true(ok)
    assert.are.equal(1, H.info(id).hits)
  end)

  it("returns true on any 2xx", function()
    for _, status in ipairs { 200, 202, 204, 206, 299 } do
      local ok, err = client.sessions.delete("status-" .. status .. "-" .. H.nonce())
      assert.is_true(ok, tostring(err))
      assert.is_nil(err)
    end
  end)

  it("counts a 404 as done with missing_ok", function()
    assert.is_true(client.sessions.delete("missing-" .. H.nonce(), { missing_ok = true }))
    local ok, err = client.sessions.delete("missing-" .. H.nonce())
    assert.is_nil(ok)
    assert.are.equal(404, err.status)
  end)

  it("does not let missing_ok hide other errors", function()
    local ok, err = client.sessions.delete("status-401-" .. H.nonce(), { missing_ok = true })
    assert.is_nil(ok)
    assert.are.equal("unauthorized", err.code)
  end)
end)

describe("an API error", function()
  local client = H.client { max_retries = 2 }

  it("takes code and message from the JSON body, with the request id, and is not retried on 404", function()
    local id = "missing-" .. H.nonce()
    local ok, err = client.sessions.delete(id)
    assert.is_nil(ok)
    assert_error_shape(err)
    assert.are.equal(404, err.status)
    assert.are.equal("session_not_found", err.code)
    assert.are.equal("Session not found", err.message)
    assert.matches("^req_%x+$", err.request_id)
    assert.is_false(err.retryable)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, H.info(id).hits)
    assert.is_nil(err.retry_after)
  end)

  it('understands the older {"error": {...}} shape', function()
    local _, err = client.sessions.delete("legacy-" .. H.nonce())
    assert.are.equal("legacy_not_found", err.code)
    assert.are.equal("No such session (legacy)", err.message)
  end)

  it("carries the body's details table", function()
    local _, err = client.sessions.delete("details-" .. H.nonce())
    assert.are.equal(422, err.status)
    assert.are.equal("session_busy", err.code)
    assert.are.same({ state = "linking", retry_in = 5 }, err.details)
  end)

  it("is not retried on 401", function()
    local c = H.client { api_key = "zv_live_revoked", max_retries = 3 }
    local id = "anything-" .. H.nonce()
    local _, err = c.sessions.delete(id)
    assert.are.equal(401, err.status)
    assert.are.equal("unauthorized", err.code)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, H.info(id).hits)
  end)

  local derived = {
    { 400, "bad_request" },
    { 401, "unauthorized" },
    { 403, "forbidden" },
    { 404, "not_found" },
    { 409, "conflict" },
    { 422, "unprocessable_entity" },
    { 429, "rate_limited" },
    { 500, "server_error" },
    { 503, "server_error" },
    { 418, "http_error" },
    { 451, "http_error" },
  }
  for _, case in ipairs(derived) do
    it("derives code " .. case[2] .. " from an empty " .. case[1] .. " reply", function()
      local _, err = client.sessions.delete("status-" .. case[1] .. "-" .. H.nonce(), { max_retries = 0 })
      assert_error_shape(err)
      assert.are.equal(case[1], err.status)
      assert.are.equal(case[2], err.code)
    end)
  end

  for _, case in ipairs {
    { "html", 502, "server_error" },
    { "badjson", 400, "bad_request" },
    { "notobject", 400, "bad_request" },
    { "wrongtypes", 409, "conflict" },
    { "emptystrings", 403, "forbidden" },
  } do
    it("derives the code when the body is " .. case[1], function()
      local _, err = client.sessions.delete(case[1] .. "-" .. H.nonce(), { max_retries = 0 })
      assert_error_shape(err)
      assert.are.equal(case[2], err.status)
      assert.are.equal(case[3], err.code)
      assert.is_nil(err.details)
    end)
  end

  it("reads a JSON error body just under 64 KiB", function()
    local _, err = client.sessions.delete("big-60-" .. H.nonce())
    assert.are.equal("big_body", err.code)
    assert.are.equal(60 * 1024, #err.details.pad)
  end)

  it("stops reading an error body past 64 KiB", function()
    local _, err = client.sessions.delete("big-70-" .. H.nonce())
    assert.are.equal(400, err.status)
    assert.are.equal("bad_request", err.code) -- the cut JSON no longer parses
  end)

  it("never holds a 20 MB body in memory, and the client keeps working", function()
    collectgarbage()
    H.reset_peak_rss()
    local before = H.peak_rss_kib()
    local _, err = client.sessions.delete("huge-" .. H.nonce())
    local grown = H.peak_rss_kib() - before
    assert.are.equal(400, err.status)
    assert.are.equal("bad_request", err.code)
    assert.is_true(grown < 4 * 1024, "peak RSS grew by " .. grown .. " KiB")
    assert.is_true(client.sessions.delete("after-huge-" .. H.nonce()))
  end)

  it("does not follow redirects", function()
    local tag = H.nonce()
    local _, err = client.sessions.delete("redirect-" .. tag) -- to redirected-<tag>
    assert.are.equal(302, err.status)
    assert.are.equal("http_error", err.code)
    assert.matches("redirect", err.message)
    assert.is_nil(H.info("redirected-" .. tag).hits)
  end)

  it("can be built from a response obtained by other means", function()
    local err = zavu.error_from_response(404, '{"error": {"code": "gone", "message": "Gone"}}', "req_9")
    assert_error_shape(err)
    assert.are.same(
      { 404, "gone", "Gone", "req_9", false },
      { err.status, err.code, err.message, err.request_id, err.retryable }
    )
    local err2 = zavu.error_from_response(503, "<html>")
    assert.are.same({ "server_error", true }, { err2.code, err2.retryable })
    assert.has_error(function() zavu.error_from_response("x") end)
  end)

  it("is a plain table whose tostring names code, status, message and request id", function()
    local _, err = client.sessions.delete("missing-" .. H.nonce())
    local s = tostring(err)
    assert.matches("session_not_found", s, 1, true)
    assert.matches("HTTP 404", s, 1, true)
    assert.matches("Session not found", s, 1, true)
    assert.matches(err.request_id, s, 1, true)
    local copy = {}
    for k, v in pairs(err) do
      copy[k] = v
    end
    assert.are.same(copy, err) -- plain fields only: nothing hides in the metatable
    assert.is_true(zavu.is_error(copy))
    assert.are.equal(s, tostring(setmetatable(copy, zavu.error_mt)))
  end)
end)
