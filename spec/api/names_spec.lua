-- Names and values: an options table, a query or a body holding a key that
-- nothing reads raises at the caller's line - naming the function, the key
-- and the nearest known name - and nothing is sent. Bodies and queries are
-- checked against zavu.operations (JSON types, required fields, bounds);
-- every id parameter follows delete's rule.
local H = require "spec.helper"
local zavu = require "zavu"

-- A client with a key of its own: the mock's count of the key's requests
-- (H.key_hits) is this spec's alone.
local function fresh()
  local key = "zv_live_names_" .. H.nonce()
  return H.client { api_key = key }, key
end

-- f raises exactly text, positioned at a line of this file (the caller's).
local function raises(text, f)
  local ok, msg = pcall(f)
  assert.is_false(ok, "did not raise: " .. text)
  msg = tostring(msg)
  assert.matches("names_spec%.lua:%d+: ", msg, nil, false, "not at the caller's line: " .. msg)
  assert.are.equal(text, (msg:gsub("^[^\n]-:%d+: ", "")))
end

-- A fresh id the mock has never seen (interpreters share the mock), as a
-- number with exact digits below 2^53: this process, the time, a counter.
-- Sixteen digits (from 2^52): past what %.14g (Lua 5.1's tostring) keeps.
local numbers = 0
local function fresh_number()
  numbers = numbers + 1
  return 2 ^ 52 + H.pid() * 1e9 + (os.time() % 100000) * 1e4 + numbers
end

describe("a misspelled option", function()
  it(
    "raises, naming the function and the nearest name, in every function that takes options; nothing is sent",
    function()
      local c, key = fresh()
      H.mock_seed(key, 3, { status = "initializing" })
      local before = H.key_hits(key)
      local id, nid = "typo-" .. H.nonce(), "typo-node-" .. H.nonce()
      local t = { timeuot = 1 }
      local function typo(fname) return ("unknown option 'timeuot' to '%s' (did you mean 'timeout'?)"):format(fname) end
      local cases = {
        { typo "new", function() zavu.new { api_key = key, base_url = H.http_url, timeuot = 5 } end },
        { typo "new", function() zavu.check_options { api_key = key, timeuot = 5 } end },
        { typo "check_call_options", function() zavu.check_call_options(t) end },
        { typo "list", function() c.sessions.list({}, t) end },
        { typo "create", function() c.sessions.create({ displayName = "x" }, t) end },
        { typo "get", function() c.sessions.get(id, t) end },
        { typo "delete", function() c.sessions.delete(id, t) end },
        { typo "delete", function() zavu.sessions.delete(id, t) end }, -- the default client
        { typo "set_egress", function() c.sessions.set_egress(id, { kind = "external" }, t) end },
        { typo "reconnect", function() c.sessions.reconnect(id, t) end },
        { typo "logout", function() c.sessions.logout(id, t) end },
        { typo "link", function() c.sessions.link(id, "snd_1", t) end },
        { typo "unlink", function() c.sessions.unlink(id, t) end },
        { typo "list", function() c.egress_nodes.list({ senderId = "snd_1" }, t) end },
        { typo "create", function() c.egress_nodes.create({ senderId = "snd_1" }, t) end },
        { typo "get", function() c.egress_nodes.get(nid, t) end },
        { typo "delete", function() c.egress_nodes.delete(nid, t) end },
        { typo "pairing_token", function() c.egress_nodes.pairing_token(nid, t) end },
        { typo "proxy_status", function() c.proxy_status(t) end },
        {
          typo "request",
          function() c.request("DELETE", "/v1/whatsapp-alt/sessions/{id}", { params = { id }, timeuot = 1 }) end,
        },
        { typo "all", function() c.sessions.all(nil, t) end },
        { typo "each", function() c.sessions.each(nil, t) end },
        { typo "all", function() c.egress_nodes.all({ senderId = "snd_1" }, t) end },
        {
          "unknown option 'concurency' to 'delete_many' (did you mean 'concurrency'?)",
          function() c.sessions.delete_many({ id }, { concurency = 2 }) end,
        },
        {
          "unknown option 'timout' to 'wait' (did you mean 'timeout'?)",
          function() c.sessions.wait(id, { timout = 5 }) end,
        },
        {
          "unknown option 'dryrun' to 'prune' (did you mean 'dry_run'?)",
          function() c.sessions.prune { status = "initializing", dryrun = true } end,
        },
        {
          "unknown option 'dryrun' to 'prune' (did you mean 'dry_run'?)",
          function() zavu.check_call("sessions.prune", { status = "initializing", dryrun = true }) end,
        },
        {
          "unknown option 'max_page' to 'each' (did you mean 'max_pages'?)",
          function() c.sessions.each(nil, { max_page = 2 }) end,
        },
        {
          "unknown option 'missing_ok' to 'get' (known: timeout, total_timeout, max_retries)",
          function() c.sessions.get(id, { missing_ok = true }) end,
        },
      }
      for _, case in ipairs(cases) do
        raises(case[1], case[2])
      end
      assert.is_nil(H.info(id).hits)
      assert.is_nil(H.info(nid).hits)
      assert.are.equal(before, H.key_hits(key))
      assert.are.equal(3, #assert(c.sessions.all())) -- prune deleted nothing
    end
  )

  it("names the known ones when none is near, and the same key on every interpreter", function()
    local c = fresh()
    raises(
      "unknown option 'x' to 'delete' (known: timeout, total_timeout, max_retries, missing_ok)",
      function() c.sessions.delete("x", { x = 1 }) end
    )
    raises(
      "unknown option 'aa' to 'get' (known: timeout, total_timeout, max_retries)",
      function() c.sessions.get("x", { zz = 1, aa = 1 }) end
    )
    raises(
      "unknown option to 'delete_many' (option names are strings, got a number key)",
      function() c.sessions.delete_many({ "x" }, { true }) end
    )
    raises(
      "unknown option 'api_kye' to 'new' (did you mean 'api_key'?)",
      function() zavu.new { api_kye = "zv_live_x" } end
    )
  end)

  it(
    "of a table with a metatable: its own keys are checked, known names read through __index, pairs never called",
    function()
      local c, key = fresh()
      raises(
        "bad option 'timeout' (finite number of seconds > 0 expected, got -1)",
        function() zavu.new(setmetatable({ api_key = key }, { __index = { timeout = -1 } })) end
      )
      raises(
        "unknown option 'timout' to 'wait' (did you mean 'timeout'?)",
        function() c.sessions.wait("x", setmetatable({ timout = 1 }, { __index = { interval = 1 } })) end
      )
      local no_pairs = { __pairs = function() error("__pairs was called") end }
      local c2 = zavu.new(setmetatable({ api_key = key, base_url = H.http_url }, no_pairs))
      local id = "pairs-" .. H.nonce()
      assert.is_true(c2.sessions.delete(id, setmetatable({ max_retries = 0 }, no_pairs)))
      assert.are.equal(1, H.info(id).hits)
      -- a body is sent as it was checked: a field only __index gives goes too
      local s = assert(c.sessions.create(setmetatable({}, { __index = { displayName = "via-index" } })))
      assert.are.same({ displayName = "via-index" }, H.mock_last_body(s.id))
    end
  )
end)

describe("a request body", function()
  it("refuses a field the operation does not describe, at any depth, sending nothing", function()
    local c, key = fresh()
    local id = "body-" .. H.nonce()
    raises(
      "unknown body field 'displayNam' to 'create' (did you mean 'displayName'?)",
      function() c.sessions.create { displayNam = "x" } end
    )
    raises(
      "unknown body field 'egress.nodeid' to 'set_egress' (did you mean 'egress.nodeId'?)",
      function() c.sessions.set_egress(id, { kind = "android", nodeid = "nd_1" }) end
    )
    raises(
      "unknown body field 'lable' to 'create' (did you mean 'label'?)",
      function() c.egress_nodes.create { senderId = "snd_1", lable = "x" } end
    )
    assert.is_nil(H.info(id).hits)
    assert.are.equal(0, H.key_hits(key))
    -- request, the escape hatch, checks no body
    local body = assert(c.request("POST", "/v1/whatsapp-alt/sessions", { body = { displayNam = "x", extra = 5 } }))
    assert.are.same({ displayNam = "x", extra = 5 }, H.mock_last_body(body.session.id))
  end)

  it("refuses a wrong JSON type and a missing required field", function()
    local c, key = fresh()
    local id = "types-" .. H.nonce()
    local cases = {
      {
        "bad body field 'displayName' to 'create' (string expected, got number)",
        function() c.sessions.create { displayName = 5 } end,
      },
      {
        "bad body field 'egress' to 'create' (table expected, got string)",
        function() c.sessions.create { egress = "external" } end,
      },
      {
        "bad body field 'egress.kind' to 'create' (string expected, got boolean)",
        function() c.sessions.create { egress = { kind = true } } end,
      },
      { "bad body field 'senderId' to 'link' (string expected, got number)", function() c.sessions.link(id, 5) end },
      { "bad argument #2 to 'link' (senderId expected)", function() c.sessions.link(id) end },
      {
        "missing body field 'egress.kind' to 'set_egress' (string required)",
        function() c.sessions.set_egress(id, { nodeId = "nd_1" }) end,
      },
      {
        "bad body field 'egress' to 'set_egress' (table expected, got string)",
        function() c.sessions.set_egress(id, "android") end,
      },
      {
        "missing body field 'senderId' to 'create' (string required)",
        function() c.egress_nodes.create { label = "x" } end,
      },
      { "missing body field 'senderId' to 'create' (string required)", function() c.egress_nodes.create() end },
      { "missing query parameter 'senderId' to 'list' (string required)", function() c.egress_nodes.list() end },
      { "missing query parameter 'senderId' to 'all' (string required)", function() c.egress_nodes.all() end },
      {
        "bad query parameter 'cursor' to 'list' (string expected, got number)",
        function() c.sessions.list { cursor = 5 } end,
      },
    }
    for _, case in ipairs(cases) do
      raises(case[1], case[2])
    end
    assert.is_nil(H.info(id).hits)
    assert.are.equal(0, H.key_hits(key))
  end)

  it("keeps to the documented bounds: displayName and label in characters, country two letters", function()
    local c, key = fresh()
    local cases = {
      {
        "bad body field 'displayName' to 'create' (at most 200 characters expected, got 201)",
        function() c.sessions.create { displayName = ("é"):rep(201) } end,
      },
      {
        "bad body field 'displayName' to 'create' (UTF-8 text expected)",
        function() c.sessions.create { displayName = "\255" } end,
      },
      {
        "bad body field 'label' to 'create' (at most 100 characters expected, got 101)",
        function() c.egress_nodes.create { senderId = "snd_1", label = ("x"):rep(101) } end,
      },
      {
        "bad body field 'egress.country' to 'create' (2 characters expected, got 3)",
        function() c.sessions.create { egress = { kind = "external", country = "chl" } } end,
      },
      {
        "bad body field 'egress.country' to 'create' (2 letters expected, got 'c1')",
        function() c.sessions.create { egress = { kind = "external", country = "c1" } } end,
      },
    }
    for _, case in ipairs(cases) do
      raises(case[1], case[2])
    end
    assert.are.equal(0, H.key_hits(key))
    -- 200 two-byte characters are 200 characters: sent whole
    local name = ("é"):rep(200)
    local s = assert(c.sessions.create { displayName = name, egress = { kind = "external", country = "cl" } })
    assert.are.same({ displayName = name, egress = { kind = "external", country = "cl" } }, H.mock_last_body(s.id))
    assert.is_table(assert(c.egress_nodes.create { senderId = "snd_1", label = ("x"):rep(100) }))
    -- enumerated values are the server's to judge: an egress kind it does not know is sent
    local bad, err = c.sessions.create { egress = { kind = "satellite" } }
    assert.is_nil(bad)
    assert.are.equal("invalid_egress", err.code)
    assert.are.equal(3, H.key_hits(key))
  end)
end)

describe("a listing's limit", function()
  it("is a whole number 1..100, checked before anything is sent", function()
    local c, key = fresh()
    for _, v in ipairs { 0, 101, 2.5, -1, 1e300 } do
      raises(
        ("bad query parameter 'limit' to 'list' (integer 1..100 expected, got %s)"):format(("%.14g"):format(v)),
        function() c.sessions.list { limit = v } end
      )
    end
    raises(
      "bad query parameter 'limit' to 'list' (integer 1..100 expected, got nan)",
      function() c.sessions.list { limit = 0 / 0 } end
    )
    raises(
      "bad query parameter 'limit' to 'list' (integer 1..100 expected, got string)",
      function() c.sessions.list { limit = "5" } end
    )
    raises(
      "bad query parameter 'limit' to 'all' (integer 1..100 expected, got 0)",
      function() c.sessions.all { limit = 0 } end
    )
    raises(
      "unknown query parameter 'limt' to 'each' (did you mean 'limit'?)",
      function() c.sessions.each { limt = 5 } end
    )
    assert.are.equal(0, H.key_hits(key))
    assert.is_table(assert(c.sessions.list { limit = 100 }))
    assert.is_table(assert(c.sessions.list { limit = 1.0 }))
    assert.are.equal(2, H.key_hits(key))
  end)
end)

describe("an id", function()
  it("follows delete's rule in every method: a number is sent as its exact digits", function()
    local c = fresh()
    local calls = {
      { "get", function(n) return c.sessions.get(n) end },
      { "reconnect", function(n) return c.sessions.reconnect(n) end },
      { "logout", function(n) return c.sessions.logout(n) end },
      { "unlink", function(n) return c.sessions.unlink(n) end },
      { "link", function(n) return c.sessions.link(n, "snd_1") end },
      { "set_egress", function(n) return c.sessions.set_egress(n, { kind = "external" }) end },
      { "wait", function(n) return c.sessions.wait(n, { timeout = 5 }) end },
      { "node get", function(n) return c.egress_nodes.get(n) end },
      { "node pairing_token", function(n) return c.egress_nodes.pairing_token(n) end },
    }
    for _, call in ipairs(calls) do
      local n = fresh_number()
      local ok, err = call[2](n)
      assert.is_nil(ok, call[1])
      assert.are.equal(404, err.status, call[1])
      assert.are.equal(1, H.info(("%d"):format(n)).hits, call[1])
    end
    for _, del in ipairs { c.sessions.delete, c.egress_nodes.delete } do
      local n = fresh_number()
      assert.is_true(del(n))
      assert.are.equal(("%d"):format(n), H.info(("%d"):format(n)).raw)
    end
  end)

  it("without exact digits is the same local invalid_argument in every method as in delete, sending nothing", function()
    local c, key = fresh()
    local _, expected = c.sessions.delete(1.5)
    assert.are.equal("invalid_argument", expected.code)
    for _, bad in ipairs { 1.5, 2 ^ 53, -2 ^ 60, 0 / 0, math.huge } do
      for _, f in ipairs { c.sessions.get, c.sessions.reconnect, c.sessions.wait, c.sessions.delete } do
        local ok, err = f(bad)
        assert.is_nil(ok)
        assert.are.equal("invalid_argument", err.code)
        assert.are.equal(expected.message, err.message)
        assert.are.equal(0, err.attempts)
      end
      local _, err = c.egress_nodes.get(bad)
      assert.are.equal("invalid_argument", err.code)
      assert.are.equal("node id must be a string or a whole number below 2^53", err.message)
    end
    assert.are.equal(0, H.key_hits(key))
  end)
end)

describe("an error", function()
  it("names the function and the argument, at the caller's line", function()
    local c = fresh()
    local sid = "bad argument #1 to 'delete' (string expected for sessionId, got table)"
    raises(sid, function() c.sessions.delete {} end)
    raises(sid, function() zavu.sessions.delete {} end)
    raises(sid, function() zavu.check_call("sessions.delete", {}) end)
    raises("bad argument #2 to 'delete' (options table expected, got number)", function() c.sessions.delete("x", 5) end)
    raises("bad argument #2 to 'get' (options table expected, got number)", function() c.sessions.get("x", 5) end)
    raises("bad argument #1 to 'delete_many' (table expected, got string)", function() c.sessions.delete_many "x" end)
    raises(
      "bad argument #2 to 'delete_many' (options table expected, got string)",
      function() c.sessions.delete_many({}, "x") end
    )
    raises("bad argument #1 to 'wait' (string expected for sessionId, got table)", function() c.sessions.wait {} end)
    raises(
      "bad argument #1 to 'get' (string expected for nodeId, got boolean)",
      function() c.egress_nodes.get(true) end
    )
    c.close()
    raises("the client is closed", function() c.sessions.delete "x" end)
    raises("the client is closed", function() c.sessions.get "x" end)
  end)
end)
