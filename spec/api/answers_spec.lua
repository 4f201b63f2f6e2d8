-- What a caller gets is the truth (issue 15, "Answers" and "Paths"): a 2xx
-- whose body is not what the operation promises is invalid_response on every
-- method; errors built in Lua count the requests sent; a 404 names what its
-- route is about; on_qr sees only QR codes to scan; a POST with no body sends
-- none; a path is sent as asked, and refused when it would leave its route.
local H = require "spec.helper"
local zavu = require "zavu"

-- A client with a key of its own (the mock keeps keys apart, and answers one
-- key's every request with a given body: H.mock_answer).
local function fresh(opts)
  local o = { api_key = "zv_live_ans_" .. H.nonce(), max_retries = 0 }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return H.client(o), o.api_key
end

local B = require "spec.support.bad_bodies"
local unpack_ = table.unpack or unpack

-- Every method that promises a body (B.CALLS, and each), by name: f() -> v, err.
local function calls(c)
  local t = {}
  for _, call in ipairs(B.CALLS) do
    t[call[1]] = function() return B.method(c, call[1])(unpack_(call, 2)) end
  end
  for _, name in ipairs { "sessions.each", "egress_nodes.each" } do
    t[name] = function()
      local ok, err = pcall(function()
        for _ in B.method(c, name) { senderId = name:find("^egress") and "snd_1" or nil } do
        end
      end)
      if ok then return true end
      return nil, err
    end
  end
  return t
end

describe("a 2xx whose body is not what the operation promises", function()
  for what, body in pairs(B.BAD) do
    it("is nil, invalid_response on every method; the deletes, which promise no body, are true: " .. what, function()
      local c, key = fresh()
      H.mock_answer(key, B.GOOD) -- first the right body: every method takes it
      for name, call in pairs(calls(c)) do
        local v, err = call()
        assert.is_truthy(v, name .. ": " .. tostring(err))
      end
      H.mock_answer(key, body)
      for name, call in pairs(calls(c)) do
        local n, v, err = select("#", call()), call()
        assert.is_nil(v, name .. " took it")
        assert.are.equal(2, n, name)
        assert.are.equal("invalid_response", err.code, name .. ": " .. tostring(err))
        assert.are.equal(200, err.status, name)
        assert.is_true(err.attempts >= 1, name)
        assert.are.equal(zavu.error_mt, getmetatable(err), name)
      end
      for _, call in ipairs(B.DELETES) do
        local v = B.method(c, call[1])(unpack_(call, 2))
        assert.is_true(v == true or v.ok, call[1])
      end
    end)
  end

  it("is invalid_response in the default client too (an inf never reaches the caller)", function()
    local key = "zv_live_ans_" .. H.nonce()
    H.mock_answer(key, B.BAD["1e999 (inf once decoded)"])
    local out = H.run_lua(
      ([[
      package.path = %q
      package.cpath = %q
      local zavu = require "zavu"
      local v, err = zavu.proxy_status()
      local r, rerr = zavu.request("GET", "/v1/whatsapp-alt/proxy-status")
      local ok, eerr = pcall(function() for _ in zavu.sessions.each() do end end)
      print(tostring(v), err and err.code, tostring(r), rerr and rerr.code, ok, eerr.code, eerr.attempts)
    ]]):format(package.path, package.cpath),
      { ZAVUDEV_API_KEY = key, ZAVUDEV_BASE_URL = H.http_url }
    )
    assert.are.equal("nil\tinvalid_response\tnil\tinvalid_response\tfalse\tinvalid_response\t1\n", out)
  end)
end)

describe("a listing whose items hold a JSON null", function()
  for what, items in pairs {
    ["null first"] = '[null, {"id": "a", "status": "ready"}]',
    ["null last"] = '[{"id": "a", "status": "ready"}, null]',
    ["a string"] = '["a"]',
    ["an object, not an array"] = '{"a": {"id": "a"}}',
  } do
    it("is invalid_response, never a raised Lua error, in list, all, each and prune: " .. what, function()
      local c, key = fresh()
      H.mock_answer(key, '{"items": ' .. items .. "}")
      for name, call in pairs(calls(c)) do
        if name:find("list$") or name:find("all$") or name:find("each$") or name:find("prune$") then
          local v, err = call()
          assert.is_nil(v, name)
          assert.are.equal("invalid_response", err.code, name .. ": " .. tostring(err))
          assert.are.equal(200, err.status, name)
        end
      end
      local _, err = c.sessions.list()
      assert.matches("item", err.message)
    end)
  end
end)

describe("errors built in Lua", function()
  it("carry the listing's requests and last status: a repeated cursor, max_pages, a failed page", function()
    local c, key = fresh()
    H.mock_seed(key, 30, {})
    local all, err = c.sessions.all({ limit = 2 }, { max_pages = 3 })
    assert.is_nil(all)
    assert.are.equal(3, err.attempts)
    assert.are.equal(200, err.status)
    H.mock_misbehave(key, "repeat-cursor")
    local ok, eerr = pcall(function()
      for _ in c.sessions.each { limit = 2 } do
      end
    end)
    assert.is_false(ok)
    assert.are.equal("invalid_response", eerr.code)
    assert.are.equal(2, eerr.attempts) -- the first page, then the one that repeats its cursor
    assert.are.equal(200, eerr.status)
    H.mock_misbehave(key, "")
    -- a page that fails midway: the listing's requests, with that page's status
    local c2, key2 = fresh()
    H.mock_seed(key2, 6, {})
    local fok, ferr = pcall(function()
      local n = 0
      for _ in c2.sessions.each { limit = 2 } do
        n = n + 1
        if n == 2 then H.mock_answer(key2, '{"code": "boom", "message": "down"}', 503) end
      end
    end)
    assert.is_false(fok)
    assert.are.equal("boom", ferr.code)
    assert.are.equal(503, ferr.status)
    assert.are.equal(2, ferr.attempts)
  end)

  it("carry wait's gets and the last status: timeout, session_failed, cancelled, a get's own error", function()
    local c = fresh()
    local s = assert(c.sessions.create { displayName = "x" })
    H.mock_set_state(s.id, { status = "initializing" })
    local before = H.mock_hits(s.id)
    local _, terr = c.sessions.wait(s.id, { interval = 0.1, timeout = 0.45 })
    assert.are.equal("timeout", terr.code)
    assert.are.equal(H.mock_hits(s.id) - before, terr.attempts)
    assert.is_true(terr.attempts >= 2, terr.attempts)
    assert.are.equal(200, terr.status)

    H.mock_set_state(s.id, { status = "failed", lastError = "phone offline" })
    local _, ferr = c.sessions.wait(s.id, { interval = 0.05 })
    assert.are.equal("session_failed", ferr.code)
    assert.are.equal(1, ferr.attempts)
    assert.are.equal(200, ferr.status)

    H.mock_set_state(s.id, { status = "qr_ready", qrCode = "2@q1" })
    local _, cerr = c.sessions.wait(s.id, { interval = 0.05, on_qr = function() zavu.cancel_all() end })
    assert.are.equal("cancelled", cerr.code)
    assert.are.equal(1, cerr.attempts)
    assert.are.equal(200, cerr.status)

    -- a get's own error (a 404 on the second poll): the wait's two gets
    local c2, key2 = fresh()
    local s2 = assert(c2.sessions.create { displayName = "y" })
    H.mock_set_state(s2.id, { status = "qr_ready", qrCode = "2@q2" })
    local _, gerr = c2.sessions.wait(s2.id, {
      interval = 0.05,
      on_qr = function() H.mock_answer(key2, '{"code": "session_not_found", "message": "Session not found"}', 404) end,
    })
    assert.are.equal("session_not_found", gerr.code)
    assert.are.equal(404, gerr.status)
    assert.are.equal(2, gerr.attempts)
  end)

  it("carry prune's listing requests when a cancel stops it", function()
    local c, key = fresh()
    H.mock_seed(key, 5, { status = "ready" })
    local sum, err = c.sessions.prune {
      status = "ready",
      filter = function()
        zavu.cancel_all()
        return true
      end,
    }
    assert.is_nil(sum)
    assert.are.equal("cancelled", err.code)
    assert.are.equal(1, err.attempts)
    assert.are.equal(200, err.status)
  end)
end)

describe("a 404 without the API's JSON body", function()
  it("is described by its route: no such egress node, no such session, no such resource", function()
    local c = fresh()
    local id = "status-404-" .. H.nonce()
    local function message(v, err)
      assert.is_nil(v)
      assert.are.equal("not_found", err.code)
      return err.message
    end
    assert.are.equal("no such egress node", message(c.egress_nodes.get(id)))
    assert.are.equal("no such egress node", message(c.egress_nodes.pairing_token(id)))
    assert.are.equal("no such egress node", message(c.egress_nodes.delete(id)))
    assert.are.equal(
      "no such egress node",
      message(c.request("GET", "/v1/whatsapp-alt/egress-nodes/{id}", { params = { id } }))
    )
    assert.are.equal("no such egress node", message(c.request("DELETE", "/v1/whatsapp-alt/egress-nodes/" .. id)))
    assert.are.equal("no such session", message(c.sessions.get(id)))
    assert.are.equal("no such session", message(c.sessions.reconnect(id)))
    assert.are.equal("no such session", message(c.sessions.delete(id)))
    assert.are.equal("no such session", assert(c.sessions.delete_many { id }).failed[1].error.message)
    assert.are.equal("no such session", message(c.request("GET", "/v1/whatsapp-alt/sessions/" .. id)))
    local conflict = "status-409-" .. H.nonce()
    local _, err = c.egress_nodes.get(conflict)
    assert.are.equal("the request conflicts with the egress node's state", err.message)
    assert.are.equal("no such egress node", zavu.error_from_response(404, "", nil, "egress node").message)
    assert.are.equal("no such session", zavu.error_from_response(404, "").message)
  end)
end)

describe("wait's on_qr", function()
  it("is called only while the status is qr_ready, once per new qrCode", function()
    local c = fresh()
    local s = assert(c.sessions.create { displayName = "x" })
    local seen = {}
    local function on_qr(qr, session) seen[#seen + 1] = qr .. " " .. session.status end
    -- a stale qrCode next to another status is no code to scan
    H.mock_set_state(s.id, { status = "authenticating", qrCode = "2@stale" })
    local _, err = c.sessions.wait(s.id, { interval = 0.05, timeout = 0.3, on_qr = on_qr })
    assert.are.equal("timeout", err.code)
    assert.are.same({}, seen)
    H.mock_set_state(s.id, { status = "qr_ready", qrCode = "2@one" })
    c.sessions.wait(s.id, { interval = 0.05, timeout = 0.3, on_qr = on_qr })
    assert.are.same({ "2@one qr_ready" }, seen) -- polled several times: called once
    H.mock_set_state(s.id, { status = "qr_ready", qrCode = "2@two" })
    c.sessions.wait(s.id, { interval = 0.05, timeout = 0.2, on_qr = on_qr })
    assert.are.same({ "2@one qr_ready", "2@two qr_ready" }, seen)
  end)
end)

describe("a POST with no body", function()
  it("sends none: Content-Length 0 and no Content-Type (reconnect, logout, unlink, pairing_token)", function()
    local c = fresh()
    local s = assert(c.sessions.create { displayName = "x" })
    for _, name in ipairs { "reconnect", "logout", "unlink" } do
      assert(c.sessions[name](s.id))
      local info = H.info(s.id)
      assert.are.equal("POST", info.method, name)
      assert.is_nil(info.headers["content-type"], name .. ": " .. tostring(info.headers["content-type"]))
      assert.are.equal("0", info.headers["content-length"], name)
      assert.are.equal("", info.body, name)
    end
    local node = assert(c.egress_nodes.create { senderId = "snd_1" }).node
    assert(c.egress_nodes.pairing_token(node.id))
    local info = H.info(node.id)
    assert.is_nil(info.headers["content-type"])
    assert.are.equal("0", info.headers["content-length"])
    assert(c.request("POST", "/v1/whatsapp-alt/sessions/{id}/reconnect", { params = { s.id } }))
    assert.is_nil(H.info(s.id).headers["content-type"])
    -- a POST with a body still says it is JSON
    assert(c.sessions.link(s.id, "snd_1"))
    assert.are.equal("application/json", H.info(s.id).headers["content-type"])
  end)
end)

describe("request's path", function()
  it("raises on a NUL byte, at the caller's line, sending nothing", function()
    local c = fresh()
    local keep, other = "keep-" .. H.nonce(), "other-" .. H.nonce()
    local ok, msg = pcall(c.request, "DELETE", "/v1/whatsapp-alt/sessions/" .. keep .. "\0/../" .. other)
    assert.is_false(ok)
    assert.matches("NUL", msg)
    local line = debug.getinfo(1, "l").currentline
    local _, msg2 = pcall(function() c.request("GET", "/v1/whatsapp-alt/proxy-status\0x") end)
    assert.matches("answers_spec.lua:" .. (line + 1) .. ": bad argument #2 to 'request'", msg2, 1, true)
    assert.are.equal(0, H.mock_hits(keep))
    assert.are.equal(0, H.mock_hits(other))
  end)

  it("refuses dot segments, percent-encoded or not, with invalid_argument, sending nothing", function()
    local c = fresh()
    local id, victim = "dots-" .. H.nonce(), "victim-" .. H.nonce()
    local S = "/v1/whatsapp-alt/sessions/"
    for _, path in ipairs {
      "/x/../../../admin",
      S .. id .. "/../" .. victim,
      S .. id .. "/./../" .. victim,
      S .. id .. "/%2e%2e/" .. victim,
      S .. id .. "/%2E%2E/" .. victim,
      S .. id .. "/.%2E/" .. victim,
      S .. id .. "/%2e./" .. victim,
      S .. id .. "/%2e/" .. victim,
      S .. "..",
      S .. id .. "/..?x=1",
      "/v1/whatsapp-alt/./sessions",
    } do
      for _, method in ipairs { "GET", "DELETE", "POST" } do
        local v, err = c.request(method, path)
        assert.is_nil(v, path)
        assert.are.equal("invalid_argument", err.code, path)
        assert.matches('"%.%."', err.message)
        assert.are.equal(0, err.attempts)
        assert.is_nil(err.status)
      end
    end
    -- path parameters "." and ".." too (each is one segment)
    for _, param in ipairs { ".", ".." } do
      local v, err = c.request("DELETE", S .. "{id}", { params = { param } })
      assert.is_nil(v)
      assert.are.equal("invalid_argument", err.code)
    end
    assert.are.equal(0, H.mock_hits(id))
    assert.are.equal(0, H.mock_hits(victim))
  end)

  it("sends what was asked, byte for byte: dots inside a segment, in the query, in the base URL", function()
    local c = fresh()
    local S = "/v1/whatsapp-alt/sessions/"
    for _, id in ipairs { "a..b-" .. H.nonce(), "...-" .. H.nonce(), ".x-" .. H.nonce(), "%2e%2e%2e-" .. H.nonce() } do
      local _, err = c.request("GET", S .. id)
      assert.are.equal(404, err.status)
      local decoded = id:gsub("%%2e", ".")
      assert.are.equal(S .. id, H.info(decoded).uri)
    end
    assert(c.request("GET", "/v1/whatsapp-alt/sessions?cursor=c_1&x=/../"))
    -- the base URL's own path is sent as it is (libcurl would have squashed it)
    local key = "zv_live_ans_" .. H.nonce()
    local b = H.client { api_key = key, base_url = H.http_url .. "/p/../q/" }
    local id = "asis-" .. H.nonce()
    assert.is_true(b.sessions.delete(id))
    assert.are.equal("/p/../q/v1/whatsapp-alt/sessions/" .. id, H.info(id).uri)
    local id2 = "asis-" .. H.nonce()
    assert(b.request("DELETE", S .. "{id}", { params = { id2 } }))
    assert.are.equal("/p/../q" .. S .. id2, H.info(id2).uri)
  end)
end)
