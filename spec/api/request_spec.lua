-- What reaches the server: method, path, headers, no body.
local H = require "spec.helper"
local zavu = require "zavu"

describe("the request", function()
  local client = H.client()

  it("is DELETE /v1/whatsapp-alt/sessions/{id} with the documented headers and no body", function()
    local id = "echo-" .. H.nonce()
    local ok, err = client.sessions.delete(id)
    assert.is_nil(ok)
    assert.are.equal("echo", err.code)
    local seen = err.details
    assert.are.equal("DELETE", seen.method)
    assert.are.equal("/v1/whatsapp-alt/sessions/" .. id, seen.uri)
    assert.are.equal("Bearer " .. H.key, seen.headers.authorization)
    assert.are.equal("application/json", seen.headers.accept)
    assert.are.equal("", seen.body)
    assert.is_nil(seen.headers["content-length"])
    assert.is_nil(seen.headers["transfer-encoding"])
  end)

  it("names the library, the interpreter and libcurl in the User-Agent", function()
    local ok, err = client.sessions.delete("echo-ua-" .. H.nonce())
    assert.is_nil(ok)
    local ua = err.details.headers["user-agent"]
    local interp = rawget(_G, "jit") and jit.version or _VERSION
    assert.are.equal("zavu-lua/" .. zavu.VERSION .. " (" .. interp .. "; libcurl/" .. zavu.curl_version .. ")", ua)
  end)

  it("appends the user_agent option", function()
    local c = H.client { user_agent = "cleanup-bot/2.1" }
    local _, err = c.sessions.delete("echo-" .. H.nonce())
    assert.matches("^zavu%-lua/[%d.]+ %(.-; libcurl/[%d.]+%) cleanup%-bot/2%.1$", err.details.headers["user-agent"])
  end)

  local awkward = {
    slash = "a/b",
    query = "a?b=c",
    fragment = "a#b",
    percent = "100%",
    space = "a b",
    crlf = "a\r\nX-Injected: 1",
    utf8 = "sessão-ü",
    dots = "../..b/...", -- dots inside pieces; a piece "." or ".." is refused (review_spec)
    plus = "a+b",
  }
  for name, tail in pairs(awkward) do
    it("percent-encodes an id with " .. name .. " into exactly one path segment", function()
      local id = "echo-" .. tail
      local _, err = client.sessions.delete(id)
      assert.are.equal("echo", err.code)
      assert.are.equal(id, err.details.id) -- decodes back to the id, byte for byte
      assert.are.equal(H.escape(id), err.details.raw)
      assert.is_nil(err.details.headers["x-injected"])
    end)
  end

  it("percent-encodes NUL (which nginx refuses as %00) instead of cutting the id there", function()
    local _, err = client.sessions.delete("echo-a\0b")
    assert.are.equal(400, err.status) -- a cut id would have been echoed back with 418
    assert.are.equal("bad_request", err.code)
  end)

  it("keeps unreserved bytes as they are", function()
    local id = "echo-AZaz09-._~"
    local _, err = client.sessions.delete(id)
    assert.are.equal(id, err.details.raw)
  end)

  for _, case in ipairs {
    { "/proxy/", "/proxy/v1/whatsapp-alt/sessions/" },
    { "/proxy", "/proxy/v1/whatsapp-alt/sessions/" },
    { "/", "/v1/whatsapp-alt/sessions/" },
    { "", "/v1/whatsapp-alt/sessions/" },
    { "/a/b//", "/a/b/v1/whatsapp-alt/sessions/" },
  } do
    it("joins base URL path '" .. case[1] .. "' without a doubled slash", function()
      local c = H.client { base_url = H.http_url .. case[1] }
      local id = "echo-" .. H.nonce()
      local _, err = c.sessions.delete(id)
      assert.are.equal("echo", err.code)
      assert.are.equal(case[2] .. id, err.details.uri)
    end)
  end

  it("sends an id of exactly 1024 bytes", function()
    local id = "echo-" .. string.rep("z", 1019)
    local _, err = client.sessions.delete(id)
    assert.are.equal("echo", err.code)
    assert.are.equal(id, err.details.id)
  end)

  it("sends a numeric id with every digit, on every interpreter (LuaJIT's tostring keeps 14)", function()
    -- A number is no fresh id: count this run's hits (another run may have sent the same number).
    local n = 123456789000000 + math.random(1, 999999) * 2
    local before1, before2 = H.info(("%d"):format(n)).hits or 0, H.info(("%d"):format(n + 1)).hits or 0
    assert.is_true(client.sessions.delete(n))
    assert.are.equal(before1 + 1, H.info(("%d"):format(n)).hits)
    local s = client.sessions.delete_many({ n + 1 })
    assert.is_true(s.ok)
    assert.are.equal(before2 + 1, H.info(("%d"):format(n + 1)).hits)
  end)
end)
