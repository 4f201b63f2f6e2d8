-- Adversarial review (branch `review`): each spec pins one finding of the
-- review report. They fail on main as it stands and pass with the fixes on
-- this branch (or name what is still open).
local H = require "spec.helper"
local zavu = require "zavu"
local core = require "zavu.core"
local kit = require "zavu_testkit"

-- luacheck: ignore jit_or_51
local jit_or_51 = _VERSION == "Lua 5.1" -- PUC 5.1 and LuaJIT: finalizer errors propagate, pushcfunction allocates

-- An unreachable object whose finalizer raises. Made in its own function,
-- so no stale register of the caller keeps it alive.
local function drop_raising_garbage(msg)
  if rawget(_G, "newproxy") then
    getmetatable(newproxy(true)).__gc = function() error(msg, 0) end
  else
    setmetatable({}, { __gc = function() error(msg, 0) end })
  end
end

-- Run f with the collector doing a whole cycle at every allocation.
local function with_eager_gc(f)
  collectgarbage("setpause", 0)
  collectgarbage("setstepmul", 0)
  collectgarbage()
  local r = { pcall(f) }
  collectgarbage("setpause", 200)
  collectgarbage("setstepmul", 200)
  pcall(collectgarbage) -- 5.2 and 5.3 raise a finalizer's error from here
  return (table.unpack or unpack)(r)
end

describe("review: a finalizer that raises inside the binding's own frames (5.1, LuaJIT)", function()
  it("does not leave the client busy for ever after a failed hot-path delete", function()
    local c = H.client { max_retries = 0 }
    local del = c.sessions.delete
    local id = "missing-" .. H.nonce()
    with_eager_gc(function()
      drop_raising_garbage("boom from __gc")
      return del(id) -- fails (404): the error table is built after busy = 1, and allocates
    end)
    local ok, err = del("after-" .. H.nonce())
    assert.is_true(ok, err and err.code)
  end)

  it("does not leave delete_many's transfers orphaned in the client's multi handle", function()
    local tag = H.nonce()
    local c = H.client { max_retries = 0 }
    local first = true
    with_eager_gc(function()
      return c.sessions.delete_many({ "a" .. tag, "slow-600-x1" .. tag, "slow-1500-x2" .. tag }, {
        concurrency = 3,
        on_progress = function()
          if first then
            first = false
            drop_raising_garbage("boom from __gc")
          end
        end,
      })
    end)
    -- x2 must not still be in flight on the client's multi handle, settling into this batch
    local s = c.sessions.delete_many({ "slow-2500-z" .. tag })
    assert.is_true(s.ok)
    assert.are.same({ "slow-2500-z" .. tag }, s.deleted)
  end)
end)

describe("review: request() path parameters and query strings", function()
  it("keeps them alive while an option's metamethod drops the caller's references", function()
    local c = H.client { max_retries = 0 }
    local tail = (" p"):rep(60) .. H.nonce()
    local P = { "echo-" .. tail }
    local keep = {} -- luacheck: ignore 241
    local opts = setmetatable({}, {
      __index = function(_, k)
        if k == "timeout" then
          P[1] = nil
          collectgarbage()
          collectgarbage()
          for i = 1, 50 do
            keep[i] = "echo-" .. ("Z"):rep(#tail - 3) .. ("%03d"):format(i)
          end
        end
      end,
    })
    local _, err = c.handle:request("GET", "/v1/whatsapp-alt/sessions/{id}", P, nil, nil, opts)
    assert.are.equal("echo", err.code)
    assert.are.equal("echo-" .. tail, err.details.id)
  end)
end)

describe("review: numeric ids", function()
  it("never sends a rounded id (LuaJIT and 5.1 print numbers with 14 digits)", function()
    local c = H.client { max_retries = 0 }
    local n = 123456789000000000 + math.random(1, 999999) -- an integer on 5.3+, a double before
    local rounded = ("%.14g"):format(n)
    local ok, err = c.sessions.delete(n)
    -- either refused, or sent exactly as the number's digits
    if ok then
      assert.is_nil(H.info(rounded).hits)
    else
      assert.are.equal("invalid_argument", err.code)
    end
  end)
end)

describe("review: a 2xx whose body does not arrive whole", function()
  it("is not a success when the connection closes mid-body", function()
    local c = H.client { max_retries = 0 }
    local v, err = c.request("GET", "/v1/whatsapp-alt/sessions/{id}", { params = { "cutok-" .. H.nonce() } })
    assert.is_nil(v)
    assert.are.equal("connection_error", err.code)
  end)

  it("is a timeout (retried as timeouts are) when the body stalls", function()
    local c = H.client { max_retries = 1, timeout = 0.3, max_retry_wait = 0 }
    local v, err = c.request("GET", "/v1/whatsapp-alt/sessions/{id}", { params = { "stallok-" .. H.nonce() } })
    assert.is_nil(v)
    assert.are.equal("timeout", err.code)
    assert.are.equal(2, err.attempts)
  end)
end)

describe("review: every option validated before any transfer", function()
  it("each/all refuse a max_pages that is not a whole number >= 1 at the call", function()
    local c = H.client()
    for _, bad in ipairs { 0 / 0, "3", 2.5, -1 } do
      assert.has_error(function() c.sessions.each(nil, { max_pages = bad }) end)
      assert.has_error(function() c.sessions.all(nil, { max_pages = bad }) end)
    end
  end)

  it("prune checks concurrency before it lists anything", function()
    -- nothing listens there: a listing would come back as connection_error
    local c = H.client { base_url = "http://127.0.0.1:" .. H.free_port(), max_retries = 0 }
    assert.has_error(function() c.sessions.prune { status = "failed", concurrency = 0 } end)
    assert.has_error(function() c.sessions.prune { status = "failed", concurrency = 2.5, dry_run = true } end)
  end)

  it("refuses an API key with a NUL byte instead of sending what comes before it", function()
    local made, c = pcall(H.client, { api_key = "zv_live_ok\0\r\nX-Evil: 1", max_retries = 0 })
    if not made then return assert.matches("api_key", c) end -- refused as a bad option: fine
    local ok, err = c.sessions.delete("echo-" .. H.nonce())
    assert.is_nil(ok)
    assert.are.equal("invalid_argument", err.code)
  end)
end)

describe("review: sessions.wait", function()
  it("ends with cancelled when cancel_all runs in on_qr", function()
    local c = H.client { api_key = "zv_live_review_wait" .. H.nonce() }
    local s = assert(c.sessions.create { displayName = "auto-200" })
    local v, err = c.sessions.wait(s.id, { interval = 0.05, timeout = 5, on_qr = function() zavu.cancel_all() end })
    assert.is_nil(v)
    assert.are.equal("cancelled", err.code)
  end)

  it("keeps to its own timeout when a get is slower than it", function()
    local c = H.client()
    local t0 = core.now()
    local v, err = c.sessions.wait("slow-3000-" .. H.nonce(), { timeout = 0.3 })
    assert.is_nil(v)
    assert.are.equal("timeout", err.code)
    assert.is_true(core.now() - t0 < 1.5, ("took %.2f s"):format(core.now() - t0))
  end)
end)

describe("review: request() misuse is local, not a retried connection_error", function()
  it("a URL over libcurl's 8 MB limit", function()
    local c = H.client { max_retries = 2 }
    local v, err = c.request("GET", "/v1/whatsapp-alt/sessions", { query = { cursor = ("x"):rep(9000000) } })
    assert.is_nil(v)
    assert.are.equal("invalid_argument", err.code)
    assert.are.equal(0, err.attempts) -- nothing sent, nothing retried
  end)

  it("a path with a space or a line break", function()
    local c = H.client { max_retries = 2 }
    for _, p in ipairs { "/v1/whatsapp-alt/sessions/a b", "/v1/whatsapp-alt/x\r\nX-Injected: 1" } do
      local ok, v, err = pcall(c.request, "GET", p)
      if ok then
        assert.is_nil(v)
        assert.are.equal("invalid_argument", err.code)
      end
    end
  end)

  it("a path that does not start with / (it would name another host) through the core", function()
    local c = H.client { max_retries = 0 }
    local v, err = c.handle:request("GET", "@127.0.0.1:" .. H.free_port() .. "/v1/x")
    assert.is_nil(v)
    assert.are.equal("invalid_argument", err.code)
    assert.are.equal(0, err.attempts)
  end)

  it("a body on DELETE is sent, not dropped", function()
    local c = H.client { max_retries = 0 }
    local _, err =
      c.request("DELETE", "/v1/whatsapp-alt/sessions/{id}", { params = { "echo-" .. H.nonce() }, body = { x = 1 } })
    assert.are.equal('{"x":1}', err.details.body)
  end)
end)

describe("review: fork inside on_progress", function()
  it("leaves the parent's transfers in flight to the parent", function()
    for round = 1, 4 do
      local tag = H.nonce()
      local c = H.client { timeout = 3, max_retries = 0 }
      local child
      local s = c.sessions.delete_many({ "f-a" .. tag, "slow-600-f1" .. tag, "slow-600-f2" .. tag }, {
        concurrency = 3,
        on_progress = function(done)
          if done == 1 then child = kit.fork() end
        end,
      })
      if child == 0 then kit._exit(0) end -- the child carried on with the batch, then leaves
      kit.waitpid(child)
      assert.are.equal(3, #s.deleted, "round " .. round .. ": " .. tostring(s.failed[1] and s.failed[1].error))
    end
  end)
end)

-- A client with a key of its own: the mock's count of the key's requests
-- (H.key_hits) is this spec's alone.
local function fresh_keyed()
  local key = "zv_live_review_" .. H.nonce()
  return H.client { api_key = key, max_retries = 0 }, key
end

describe("review (issue 15): a dot segment behind an encoded separator", function()
  -- Servers decode "%2F" before they resolve dot segments (nginx reads
  -- "/v1/x/..%2F..%2Fadmin" as "/admin"), and URL parsers that follow WHATWG
  -- read "\" as "/": such a path leaves its route as surely as "/../" does.
  it("is refused in a request's path with invalid_argument, nothing sent", function()
    local c, key = fresh_keyed()
    local S = "/v1/whatsapp-alt/sessions/"
    for _, path in ipairs {
      S .. "x/..%2F..%2F..%2Fadmin",
      S .. "x%2F..%2F..%2F..%2Fadmin",
      S .. "x/..%2f" .. "victim",
      S .. "x/%2e%2e%2Fvictim",
      S .. "x%5C..%5Cvictim",
      S .. "x\\..\\victim",
      S .. "x/.%5c",
    } do
      local v, err = c.request("DELETE", path)
      assert.is_nil(v, path)
      assert.are.equal("invalid_argument", err.code, path)
      assert.are.equal(0, err.attempts, path)
    end
    assert.are.equal(0, H.key_hits(key))
  end)

  it("is refused in an id, which is sent escaped (a '/' as %2F), by every method; nothing sent", function()
    local c, key = fresh_keyed()
    for _, id in ipairs { "x/../victim", "../x", "x/..", "x/./y", "x\\..\\victim", "./x" } do
      for name, call in pairs {
        delete = function() return c.sessions.delete(id) end,
        get = function() return c.sessions.get(id) end,
        delete_many = function()
          local summary = assert(c.sessions.delete_many { id })
          return nil, summary.failed[1] and summary.failed[1].error
        end,
        request = function() return c.request("DELETE", "/v1/whatsapp-alt/sessions/{id}", { params = { id } }) end,
      } do
        local v, err = call()
        assert.is_nil(v, name .. " " .. id)
        assert.are.equal("invalid_argument", err.code, name .. " " .. id)
      end
    end
    assert.are.equal(0, H.key_hits(key))
    -- dots inside a piece, and percent signs (escaped as %25), are ids like any other
    for _, id in ipairs { "a..b/c", "x/...", "x%2F..%2Fy-" .. H.nonce() } do
      local v, err = c.sessions.get(id)
      assert.is_nil(v)
      assert.are.equal(404, err.status, id)
    end
  end)
end)
