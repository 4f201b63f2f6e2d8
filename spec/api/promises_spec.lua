-- Promises a mutation run found unguarded (issue 19): each spec here fails
-- when the one line that keeps its promise is broken (make mutate plants
-- those bugs, mutate/mutants.lua says which spec kills which).
local H = require "spec.helper"
local zavu = require "zavu"
local core = require "zavu.core"
local cjson = require "cjson"
local testkit = require "zavu_testkit"
local lifecycle = require "zavu.lifecycle"

-- A client with a key of its own: the mock keeps each key's sessions apart.
local function fresh(opts)
  local o = { api_key = "zv_live_" .. H.nonce() }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return H.client(o), o.api_key
end

-- Half a second is the promise for a cancel; under the sanitizers everything
-- is several times slower, and the bound only needs to tell a shut-down
-- socket from libcurl's once-a-second look at the cancel count.
local LATE = os.getenv("ZAVU_UNDER_ASAN") and 0.6 or 0.3

describe("request's query", function()
  it("reaches the server byte for byte: each key and value one escaped parameter, in key order", function()
    local c = fresh()
    local id = "q-" .. H.nonce()
    local ok, err = c.request("GET", "/v1/whatsapp-alt/sessions/{id}", {
      params = { id },
      query = { q = "a&b=c d#e+%", ["k y&"] = "v/w?" },
    })
    assert.is_nil(ok)
    assert.are.equal(404, err.status)
    assert.are.equal(
      "/v1/whatsapp-alt/sessions/" .. id .. "?k%20y%26=v%2Fw%3F&q=a%26b%3Dc%20d%23e%2B%25",
      H.info(id).uri
    )
  end)

  it("follows a query the path already holds with &", function()
    local c = fresh()
    local id = "q-" .. H.nonce()
    c.request("GET", "/v1/whatsapp-alt/sessions/{id}?fixed=1", { params = { id }, query = { limit = 5 } })
    assert.are.equal("/v1/whatsapp-alt/sessions/" .. id .. "?fixed=1&limit=5", H.info(id).uri)
  end)
end)

describe("request's path and body", function()
  it("sorts the query's keys: the same table is the same URL, every time", function()
    local c = fresh()
    local id = "q-" .. H.nonce()
    c.request("GET", "/v1/whatsapp-alt/sessions/{id}", {
      params = { id },
      query = { f = 6, b = 2, e = 5, a = 1, d = 4, c = 3, g = 7 },
    })
    assert.are.equal("/v1/whatsapp-alt/sessions/" .. id .. "?a=1&b=2&c=3&d=4&e=5&f=6&g=7", H.info(id).uri)
  end)

  it("refuses '.', '..' and params the template does not take, sending nothing", function()
    local c = fresh()
    for _, bad in ipairs { ".", ".." } do
      local v, err = c.sessions.get(bad)
      assert.is_nil(v)
      assert.are.equal("invalid_argument", err.code)
      assert.are.equal(0, err.attempts)
      assert.matches("sessionId must not be", err.message, 1, true)
    end
    local id = "extra-" .. H.nonce()
    for _, params in ipairs { { id, "more" }, {} } do
      local v, err = c.request("GET", "/v1/whatsapp-alt/sessions/{id}", { params = params })
      assert.is_nil(v)
      assert.are.equal("invalid_argument", err.code)
      assert.matches("do not agree", err.message, 1, true)
    end
    assert.is_nil(H.info(id).hits)
  end)

  it("refuses a path with a space, a control character or a '#' as invalid_argument, sending nothing", function()
    local c = fresh { max_retries = 2 }
    local id = "blank-" .. H.nonce()
    for _, tail in ipairs { " x", "#x", "\tx", "\1x", "\127x" } do
      local v, err = c.request("GET", "/v1/whatsapp-alt/sessions/" .. id .. tail)
      assert.is_nil(v)
      assert.are.equal("invalid_argument", err.code, ("%q"):format(tail))
      assert.are.equal(0, err.attempts)
      assert.is_nil(H.info(id).hits, ("%q"):format(tail)) -- libcurl would cut at the '#'
      assert.is_nil(H.info(id .. tail).hits, ("%q"):format(tail)) -- or escape the blank
    end
  end)

  it("raises for a body that cannot be JSON (NaN) and for a GET with a body", function()
    local c = fresh()
    local ok, msg = pcall(c.request, "POST", "/v1/whatsapp-alt/sessions", { body = { n = 0 / 0 } })
    assert.is_false(ok)
    assert.matches("^[^\n]-promises_spec%.lua:%d+: bad body to 'request' %(.*NaN", msg) -- at the caller's line
    assert.has_error(
      function() c.request("GET", "/v1/whatsapp-alt/sessions", { body = "{}" }) end,
      "bad option 'body' (a GET sends no body)"
    )
  end)
end)

describe("a JSON body", function()
  it("keeps the nulls of an array also where the decoded value is walked (a number with an exponent)", function()
    local c, key = fresh()
    H.mock_answer(key, '{"items": [1, null, {"x": null, "y": 2}], "e": 1e2, "z": null}')
    local v = assert(c.request("GET", "/v1/whatsapp-alt/proxy-status"))
    assert.are.equal(3, #v.items)
    assert.are.equal(cjson.null, v.items[2])
    assert.are.same({ y = 2 }, v.items[3])
    assert.are.equal(100, v.e)
    assert.is_nil(v.z)
  end)

  it("keeps the nulls of an array (its length) and drops those of objects", function()
    local c = fresh()
    local v = assert(c.request("GET", "/v1/whatsapp-alt/sessions/{id}", { params = { "nulls-" .. H.nonce() } }))
    assert.are.equal(3, #v.items)
    assert.are.equal(1, v.items[1])
    assert.are.equal(cjson.null, v.items[2])
    assert.are.same({ y = 2 }, v.items[3])
    assert.is_nil(v.z)
    local keys = 0
    for _ in pairs(v) do
      keys = keys + 1
    end
    assert.are.equal(1, keys)
  end)

  it("decodes 64 levels of nesting and refuses 65 as invalid_response", function()
    local c = fresh()
    -- {"session": [[...]]}: the object, then n - 1 arrays
    local v = assert(c.sessions.get("deep-64-" .. H.nonce()))
    local depth = 1
    while type(v) == "table" do
      depth, v = depth + 1, v[1]
    end
    assert.are.equal(64, depth)
    local s, err = c.sessions.get("deep-65-" .. H.nonce())
    assert.is_nil(s)
    assert.are.equal("invalid_response", err.code)
    assert.are.equal(200, err.status)
  end)

  it("of a 2xx with a NaN or a hex number is invalid_response: strict JSON only", function()
    local s, err = fresh().sessions.get("nan-" .. H.nonce())
    assert.is_nil(s)
    assert.are.equal("invalid_response", err.code)
    -- a hex number is finite: only the strict decoder refuses it
    local c, key = fresh()
    H.mock_answer(key, '{"session":{"id":"s_hex","n":0x10}}', 200)
    s, err = c.sessions.get("s_hex")
    assert.is_nil(s)
    assert.are.equal("invalid_response", err.code)
    H.mock_answer(key)
  end)
end)

describe("a number as an id", function()
  it("without exact digits (not whole, past 2^53) is invalid_argument on every interpreter, nothing sent", function()
    local c = fresh()
    for _, n in ipairs { 2 ^ 60, 2 ^ 53 + 2, -(2 ^ 54), 1.5, 0 / 0 } do
      local ok, err = c.sessions.delete(n)
      assert.is_nil(ok)
      assert.are.equal("invalid_argument", err.code, tostring(n))
      assert.are.equal(0, err.attempts)
    end
    local s = c.sessions.delete_many { 2 ^ 60, 1.5 }
    assert.are.equal(2, #s.failed)
    for _, f in ipairs(s.failed) do
      assert.are.equal("invalid_argument", f.error.code)
    end
  end)
end)

describe("delete_many", function()
  -- Against the same client deleting the same number one after another: a
  -- slot left idle after a transfer ends (a poll with nothing in flight)
  -- costs whole poll timeouts, however fast the server.
  it("starts the next id as soon as a slot frees: as fast as deleting them one by one", function()
    local c = fresh()
    local tag = H.nonce()
    local ids = {}
    for i = 1, 100 do
      ids[i] = "fast-" .. i .. "-" .. tag
    end
    c.sessions.delete("warm-" .. tag) -- both timings on a warm client
    local t0 = H.now()
    for i = 1, 100 do
      assert.is_true(c.sessions.delete("one-" .. i .. "-" .. tag))
    end
    local one_by_one = H.now() - t0
    for _, conc in ipairs { 1, 8 } do
      local t1 = H.now()
      local s = c.sessions.delete_many(ids, { concurrency = conc })
      local took = H.now() - t1
      assert.is_true(s.ok)
      assert.is_true(
        took < 5 * one_by_one + 0.08,
        ("concurrency %d: %.3f s, one by one %.3f s"):format(conc, took, one_by_one)
      )
    end
  end)

  it("settles the ids it never sent as cancelled without sending them (attempts 0)", function()
    local c = fresh()
    local tag = H.nonce()
    local later = { "later1-" .. tag, "later2-" .. tag, "later3-" .. tag }
    local s = c.sessions.delete_many({ "first-" .. tag, "slow-5000-" .. tag, later[1], later[2], later[3] }, {
      concurrency = 1,
      on_progress = function(done)
        if done == 1 then zavu.cancel_all() end
      end,
    })
    assert.are.same({ "first-" .. tag }, s.deleted)
    assert.are.equal(4, #s.failed)
    for i, f in ipairs(s.failed) do
      assert.are.equal("cancelled", f.error.code)
      if i > 1 then
        assert.are.equal(later[i - 1], f.id)
        assert.are.equal(0, f.error.attempts, f.id)
        assert.is_nil(H.info(f.id).hits, f.id)
      end
    end
  end)
end)

describe("cancel_all from another thread", function()
  -- No signal interrupts the poll libcurl sleeps in: only the shut-down
  -- socket wakes it at once (else libcurl looks again within a second).
  it("abandons a silent server at once, each time", function()
    local c = H.client { timeout = 30, max_retries = 0 }
    local calls = {
      function() return c.sessions.delete("hang-" .. H.nonce()) end,
      function() return c.sessions.delete("hang-" .. H.nonce()) end,
      function() return c.sessions.get("hang-" .. H.nonce()) end,
    }
    for _, call in ipairs(calls) do
      testkit.cancel_later(0.3, core.cancel_all)
      local t0 = H.now()
      local ok, err = call()
      local late = H.now() - t0 - 0.3
      assert.is_nil(ok)
      assert.are.equal("cancelled", err.code)
      assert.is_true(late < LATE, ("returned %.3f s after the cancel"):format(late))
    end
    assert.is_true(c.sessions.delete("after-" .. H.nonce()), "the client works right after")
  end)
end)

describe("a listing", function()
  it("raises (each) or returns (all, prune) the error of a later page, never ending as if complete", function()
    local c, key = fresh()
    H.mock_seed(key, 101, { status = "disconnected" }) -- prune's listing takes 100 a page
    H.mock_misbehave(key, "broken-json-later")
    local seen = 0
    local ok, err = pcall(function()
      for _ in c.sessions.each { limit = 2 } do
        seen = seen + 1
      end
    end)
    assert.is_false(ok)
    assert.are.equal(2, seen)
    assert.are.equal("invalid_response", err.code)
    local all, aerr = c.sessions.all { limit = 2 }
    assert.is_nil(all)
    assert.are.equal("invalid_response", aerr.code)
    local summary, perr = c.sessions.prune { status = "disconnected" }
    assert.is_nil(summary)
    assert.are.equal("invalid_response", perr.code)
    H.mock_misbehave(key, "")
    assert.are.equal(101, #assert(c.sessions.all()), "prune deleted nothing")
  end)

  it("counts its starting cursor as given: a server that hands it back ends the listing", function()
    local c, key = fresh()
    H.mock_seed(key, 5, {})
    H.mock_misbehave(key, "repeat-cursor") -- every page says nextCursor = "c_1"
    local seen = 0
    local ok, err = pcall(function()
      for _ in c.sessions.each({ limit = 2, cursor = "c_1" }) do
        seen = seen + 1
      end
    end)
    assert.is_false(ok)
    assert.are.equal("invalid_response", err.code)
    assert.are.equal(0, seen, "the page that handed the cursor back is not taken")
    local all, aerr = c.sessions.all { limit = 2, cursor = "c_1" }
    assert.is_nil(all)
    assert.are.equal("invalid_response", aerr.code)
  end)
end)

describe("each and all", function()
  it("ask for 100 sessions a page unless told", function()
    local _, key = fresh()
    H.mock_seed(key, 3, {})
    local out = H.run_lua(([[
      local zavu = require "zavu"
      local c = zavu.new { api_key = %q, base_url = %q, debug = true }
      print(#assert(c.sessions.all()), #assert(c.egress_nodes.all { senderId = "snd_x" }))
      for _ in c.sessions.each() do end
      for _ in c.sessions.each { limit = 7 } do end
    ]]):format(key, H.http_url))
    assert.matches("3\t0", out)
    local _, with_100 = out:gsub("GET /v1/whatsapp%-alt/sessions%?limit=100 %-> 200", "")
    assert.are.equal(2, with_100, out)
    assert.matches("GET /v1/whatsapp%-alt/egress%-nodes%?senderId=snd_x&limit=100 %-> 200", out)
    assert.matches("GET /v1/whatsapp-alt/sessions?limit=7 -> 200", out, 1, true)
  end)
end)

describe("prune", function()
  it("counts a session gone between the listing and its delete as deleted (missing_ok)", function()
    local c, key = fresh()
    -- listed, but every request about them answers 404: gone by the time of the delete
    H.mock_seed(key, 3, { status = "failed", prefix = "missing" })
    local summary = assert(c.sessions.prune { status = "failed" })
    assert.are.equal(3, #summary.matched)
    assert.is_true(summary.ok)
    assert.are.equal(3, #summary.deleted)
    assert.are.equal(0, #summary.failed)
  end)
end)

describe("wait", function()
  it("notices a cancel made while a get was answering, even one that found the status asked for", function()
    local c = fresh()
    local s = assert(c.sessions.create { displayName = "x" })
    H.mock_set_state(s.id, { status = "ready" })
    local gets = 0
    local function get(...) -- the client's get; a cancel lands as it returns
      gets = gets + 1
      local v, err = c.sessions.get(...)
      zavu.cancel_all()
      return v, err
    end
    local r, err = lifecycle.wait(get)(s.id, { interval = 0.05, timeout = 5 })
    assert.is_nil(r)
    assert.are.equal("cancelled", err.code)
    assert.are.equal(1, gets)
    assert.are.equal("ready", assert(c.sessions.wait(s.id, { interval = 0.05 })).status, "later calls run normally")
  end)

  it("notices a cancel made in on_qr even when the session is at the status asked for", function()
    local c = fresh()
    local s = assert(c.sessions.create { displayName = "auto-100" }) -- qr_ready after 100 ms
    local r, err =
      c.sessions.wait(s.id, { status = "qr_ready", interval = 0.05, on_qr = function() zavu.cancel_all() end })
    assert.is_nil(r)
    assert.are.equal("cancelled", err.code)
  end)
end)
