-- User code that runs inside a call (on_progress, an option table's
-- metamethods, finalizers) and turns back on the client: the busy rule.
local H = require "spec.helper"
local zavu = require "zavu"
local core = require "zavu.core"

local function assert_closed(c)
  assert.has_error(function() c.sessions.delete("x") end, "the client is closed")
end

-- Make an unreachable object whose finalizer calls fn (5.1 and LuaJIT have
-- no __gc on tables: a newproxy userdata stands in).
local function garbage_with_finalizer(fn)
  if rawget(_G, "newproxy") then
    getmetatable(newproxy(true)).__gc = fn
  else
    setmetatable({}, { __gc = fn })
  end
end

describe("a busy client", function()
  it("defers close() from on_progress until delete_many returns, and settles every id", function()
    local tag = H.nonce()
    local c = H.client()
    local ids = { "slow-300-a" .. tag, "slow-300-b" .. tag, "x1" .. tag }
    local s = c.sessions.delete_many(ids, {
      concurrency = 4,
      on_progress = function(done)
        if done == 1 then c.close() end
      end,
    })
    assert.are.equal(3, s.total)
    assert.are.equal(3, #s.deleted)
    assert_closed(c)
  end)

  it("defers close() from on_progress while bad ids are settled before the batch", function()
    local c = H.client()
    local s = c.sessions.delete_many({ false, "abc" .. H.nonce() }, { on_progress = function() c.close() end })
    assert.are.equal(1, #s.deleted)
    assert.are.equal("invalid_argument", s.failed[1].error.code)
    assert_closed(c)
  end)

  it("defers close() from an options table's __index during delete", function()
    local c = H.client()
    local opts = setmetatable({}, { __index = function() c.close() end })
    assert.is_true(c.sessions.delete("abc" .. H.nonce(), opts))
    assert_closed(c)
  end)

  it("answers client_busy to delete_many and delete from on_progress; the outer batch completes", function()
    local tag = H.nonce()
    local c = H.client()
    local inner = {}
    local ids = { "slow-200-a" .. tag, "b" .. tag, "c" .. tag, "d" .. tag }
    local s = c.sessions.delete_many(ids, {
      concurrency = 2,
      on_progress = function()
        local r, err = c.sessions.delete_many({ "inner" .. tag }, {})
        inner[#inner + 1] = { r = r, code = err and err.code }
        local ok, err2 = c.sessions.delete("inner2" .. tag)
        inner[#inner + 1] = { r = ok, code = err2 and err2.code }
      end,
    })
    assert.is_true(s.ok)
    assert.are.same(ids, s.deleted)
    assert.are.equal(8, #inner)
    for _, r in ipairs(inner) do
      assert.is_nil(r.r)
      assert.are.equal("client_busy", r.code)
    end
    assert.is_nil(H.info("inner" .. tag).hits)
    assert.is_true(c.sessions.delete("after" .. tag)) -- free again
  end)

  it("answers client_busy to a finalizer that runs inside a call", function()
    local c = H.client()
    local seen
    local s = c.sessions.delete_many({ "a" .. H.nonce() }, {
      on_progress = function()
        garbage_with_finalizer(function()
          local _, err = c.sessions.delete("from-gc")
          seen = err and err.code or "deleted"
        end)
        collectgarbage()
        collectgarbage()
      end,
    })
    assert.is_true(s.ok)
    assert.are.equal("client_busy", seen)
  end)

  it("is free again after on_progress raises or yields", function()
    local c = H.client()
    assert.has_error(function()
      c.sessions.delete_many({ "a" .. H.nonce() }, { on_progress = function() error("boom") end })
    end)
    local co = coroutine.wrap(function()
      return pcall(c.sessions.delete_many, { "b" .. H.nonce() }, { on_progress = function() coroutine.yield(1) end })
    end)
    local ok, msg = co()
    assert.is_false(ok)
    assert.matches("yield", tostring(msg))
    assert.has_error(function()
      c.sessions.delete("x", setmetatable({}, { __index = function() error("from __index") end }))
    end, nil)
    assert.is_true(c.sessions.delete("c" .. H.nonce()))
  end)

  it("keeps strings an options table's __index makes alive until the client holds them", function()
    local port = H.http_port
    local handle = core.new(setmetatable({}, {
      __index = function(_, k)
        collectgarbage()
        if k == "api_key" then return "zv_live_" .. ("fresh"):rep(3) .. tostring(12345) end
        if k == "base_url" then return "http://127.0.0.1:" .. tostring(port) end
        if k == "user_agent" then return "fresh-agent/" .. tostring(1) end
      end,
    }))
    local id = "fresh-" .. H.nonce()
    collectgarbage()
    assert.is_true(handle:delete_session(id))
    local info = H.info(id)
    assert.are.equal("Bearer zv_live_freshfreshfresh12345", info.headers.authorization)
    assert.matches(" fresh%-agent/1$", info.headers["user-agent"])
    handle:close()
  end)

  it("reports what was sent even when on_progress edits the ids table", function()
    local tag = H.nonce()
    local ids = { "p1" .. tag, "p2" .. tag, "p3" .. tag }
    local s = H.client().sessions.delete_many(ids, {
      concurrency = 1,
      on_progress = function()
        ids[1], ids[2], ids[3] = "changed", "changed", nil
      end,
    })
    assert.are.same({ "p1" .. tag, "p2" .. tag, "p3" .. tag }, s.deleted)
    assert.are.equal(3, s.total)
  end)
end)

describe("an error's tostring", function()
  it("keeps the message once and the request id, however long the message", function()
    local msg = ("m"):rep(9000)
    local err = zavu.error_from_response(400, '{"code":"boom","message":"' .. msg .. '"}', "req_123")
    local text = tostring(err)
    assert.are.equal("zavu: boom (HTTP 400): " .. msg .. " [request_id=req_123]", text)
  end)

  it("leaves out a status that is not an HTTP status, without undefined behaviour", function()
    for _, status in ipairs { 1e300, -1e300, 0 / 0, math.huge, 404.5, -404 } do
      local text = tostring(setmetatable({ code = "x", status = status, message = "m" }, zavu.error_mt))
      assert.are.equal("zavu: x: m", text)
    end
    assert.are.equal("zavu: error", tostring(setmetatable({}, zavu.error_mt)))
  end)

  it("refuses a status that is no HTTP status in error_from_response", function()
    for _, status in ipairs { 1e300, 0 / 0, 99, 404.5 } do
      assert.has_error(function() zavu.error_from_response(status, "") end)
    end
  end)
end)
