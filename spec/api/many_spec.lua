-- delete_many: concurrent deletes over libcurl's multi interface.
local H = require "spec.helper"
local zavu = require "zavu"

local function ids_of(prefix, n)
  local ids = {}
  for i = 1, n do
    ids[i] = prefix .. i
  end
  return ids
end

describe("delete_many", function()
  it("returns a summary: deleted ids and the error of each failed one, in input order", function()
    local tag = H.nonce()
    -- The first id is slow, so completion order differs from input order.
    local ids = { "slow-300-a-" .. tag, "missing-" .. tag, "b-" .. tag, "details-" .. tag, "c-" .. tag }
    local s = H.client().sessions.delete_many(ids)
    assert.is_false(s.ok)
    assert.are.equal(5, s.total)
    assert.are.same({ "slow-300-a-" .. tag, "b-" .. tag, "c-" .. tag }, s.deleted)
    assert.are.equal(2, #s.failed)
    assert.are.equal("missing-" .. tag, s.failed[1].id)
    assert.are.equal("session_not_found", s.failed[1].error.code)
    assert.are.equal(404, s.failed[1].error.status)
    assert.are.equal(1, s.failed[1].error.attempts)
    assert.matches("^req_%x+$", s.failed[1].error.request_id)
    assert.are.equal(zavu.error_mt, getmetatable(s.failed[1].error))
    assert.are.equal("details-" .. tag, s.failed[2].id)
    assert.are.same({ state = "linking", retry_in = 5 }, s.failed[2].error.details)
    for _, id in ipairs(ids) do
      assert.are.equal(1, H.info(id).hits)
    end
  end)

  it(
    "is ok with nothing to do",
    function() assert.are.same({ ok = true, total = 0, deleted = {}, failed = {} }, H.client().sessions.delete_many({})) end
  )

  it("runs 8 at a time by default, and `concurrency` at a time when asked", function()
    local tag1, tag2 = H.nonce(), H.nonce()
    local c = H.client()
    assert.is_true(c.sessions.delete_many(ids_of("par-100-" .. tag1 .. "-", 24)).ok)
    assert.are.equal(8, H.max_in_flight(tag1))
    local t = H.now()
    assert.is_true(c.sessions.delete_many(ids_of("par-100-" .. tag2 .. "-", 24), { concurrency = 12 }).ok)
    assert.are.equal(12, H.max_in_flight(tag2))
    assert.is_true(H.now() - t < 2.0) -- 2 rounds of 100 ms, not 24
  end)

  it("retries each id as the single delete does", function()
    local tag = H.nonce()
    local ids = { "flaky-2-503-" .. tag, "flaky-1-429-" .. tag, "status-401-" .. tag }
    local s = H.client().sessions.delete_many(ids)
    assert.are.same({ ids[1], ids[2] }, s.deleted)
    assert.are.equal(3, H.info(ids[1]).hits)
    assert.are.equal(2, H.info(ids[2]).hits)
    assert.are.equal(1, s.failed[1].error.attempts)
    local s2 = H.client().sessions.delete_many({ "flaky-5-503-" .. tag }, { max_retries = 1 })
    assert.are.equal(2, s2.failed[1].error.attempts)
    assert.is_true(s2.failed[1].error.retryable)
  end)

  it("waits for a retry as a timer while other transfers go on", function()
    local tag = H.nonce()
    local ids = ids_of("par-100-" .. tag .. "-", 10)
    table.insert(ids, 1, "retryafterms-1000-" .. tag)
    local t = H.now()
    local s = H.client().sessions.delete_many(ids, { concurrency = 2 })
    local took = H.now() - t
    assert.is_true(s.ok)
    -- The 1 s wait and the 5 rounds of 100 ms overlap; sleeping would add them up.
    assert.is_true(took >= 1.0 and took < 1.35, "took " .. took)
  end)

  it("counts a 404 as done with missing_ok", function()
    local s = H.client().sessions.delete_many({ "missing-" .. H.nonce(), "x-" .. H.nonce() }, { missing_ok = true })
    assert.is_true(s.ok)
    assert.are.equal(2, #s.deleted)
  end)

  it("fails a bad id alone", function()
    local tag = H.nonce()
    local ids = { "ok1-" .. tag, "", ".", {}, false, string.rep("z", 1025), "ok2-" .. tag, 42 }
    local s = H.client().sessions.delete_many(ids)
    assert.are.same({ "ok1-" .. tag, "ok2-" .. tag, 42 }, s.deleted)
    assert.are.equal(5, #s.failed)
    for _, f in ipairs(s.failed) do
      assert.are.equal("invalid_argument", f.error.code)
      assert.are.equal(0, f.error.attempts)
    end
    assert.matches("string", s.failed[3].error.message)
  end)

  it("reports local errors for every id without a request", function()
    local a, b = "local-" .. H.nonce(), "local-" .. H.nonce()
    local s = H.client({ api_key = "zv_test_x" }).sessions.delete_many({ a, b })
    assert.are.equal(2, #s.failed)
    assert.are.equal("test_mode_key", s.failed[2].error.code)
    assert.is_nil(H.info(a).hits)
  end)

  it("reports progress once per id", function()
    local seen = {}
    H.client().sessions.delete_many(ids_of("p-" .. H.nonce() .. "-", 20), {
      on_progress = function(done, total) seen[#seen + 1] = done .. "/" .. total end,
    })
    assert.are.equal(20, #seen)
    assert.are.equal("1/20", seen[1])
    assert.are.equal("20/20", seen[20])
  end)

  it("lets an error raised by on_progress through without leaking handles", function()
    local c = H.client()
    c.sessions.delete_many(ids_of("warm-" .. H.nonce() .. "-", 16), { concurrency = 8 })
    local fds = H.open_fds()
    for _ = 1, 20 do
      local ok, err = pcall(c.sessions.delete_many, ids_of("slow-50-" .. H.nonce() .. "-", 16), {
        concurrency = 8,
        on_progress = function() error("stop here") end,
      })
      assert.is_false(ok)
      assert.matches("stop here", err)
    end
    collectgarbage()
    assert.is_true(H.open_fds() <= fds + 1, "fds: " .. fds .. " -> " .. H.open_fds())
    assert.is_true(c.sessions.delete_many(ids_of("after-" .. H.nonce() .. "-", 4)).ok)
  end)

  it("lets an error raised by on_progress for a bad id through too", function()
    local ok, err = pcall(H.client().sessions.delete_many, { {}, "x" }, {
      on_progress = function() error("progress says no") end,
    })
    assert.is_false(ok)
    assert.matches("progress says no", err)
  end)

  it("reuses connections across calls", function()
    local c = H.client()
    local a, b = ids_of("ra-" .. H.nonce() .. "-", 12), ids_of("rb-" .. H.nonce() .. "-", 12)
    c.sessions.delete_many(a, { concurrency = 4 })
    c.sessions.delete_many(b, { concurrency = 4 })
    local first = {}
    for _, id in ipairs(a) do
      first[H.info(id).connection] = true
    end
    for _, id in ipairs(b) do
      assert.is_true(first[H.info(id).connection], id)
    end
  end)

  it("multiplexes over one HTTP/2 connection when the server offers it", function()
    local c = H.client { base_url = H.https_url, ca_file = H.ca_file }
    local tag = H.nonce()
    local ids = ids_of("par-400-" .. tag .. "-", 16) -- long enough for all 16 to overlap under valgrind
    assert.is_true(c.sessions.delete_many(ids, { concurrency = 16 }).ok)
    local conns = {}
    for _, id in ipairs(ids) do
      local seen = H.info(id)
      assert.are.equal(2, seen.http_version)
      conns[seen.connection] = true
    end
    assert.are.equal(1, #(function()
      local l = {}
      for k in pairs(conns) do
        l[#l + 1] = k
      end
      return l
    end)())
    assert.are.equal(16, H.max_in_flight(tag))
  end)

  it("raises for a list that is not a table, or bad options", function()
    local c = H.client()
    assert.has_error(function() c.sessions.delete_many("a") end)
    assert.has_error(function() c.sessions.delete_many({}, { concurrency = 0 }) end)
    assert.has_error(function() c.sessions.delete_many({}, { concurrency = 65 }) end)
    assert.has_error(function() c.sessions.delete_many({}, { on_progress = 1 }) end)
  end)

  it("is there on the default client too", function()
    local out, status = H.run_lua(
      [[
      local s = require("zavu").sessions.delete_many({ "d1", "missing-d2" })
      print(#s.deleted, s.failed[1].id, s.failed[1].error.code)
    ]],
      { ZAVUDEV_API_KEY = H.key, ZAVUDEV_BASE_URL = H.http_url }
    )
    assert.are.equal(0, status, out)
    assert.matches("1\tmissing-d2\tsession_not_found", out, 1, true)
  end)

  -- After a transfer ends, the next id starts at once: no poll with nothing
  -- in flight (that stall was a second per id). The bound has a 10x margin.
  it("starts the next id as soon as a slot frees, at concurrency 1 and 8", function()
    for _, conc in ipairs { 1, 8 } do
      local tag = H.nonce()
      local ids = {}
      for i = 1, 50 do
        ids[i] = "fast-" .. i .. "-" .. tag
      end
      local t0 = H.now()
      local s = H.client().sessions.delete_many(ids, { concurrency = conc })
      assert.is_true(s.ok)
      assert.is_true(H.now() - t0 < 5, ("concurrency %d took %.1f s"):format(conc, H.now() - t0))
    end
  end)
end)
