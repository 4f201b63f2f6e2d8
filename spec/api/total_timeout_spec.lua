-- total_timeout: no call outlives it, counting every attempt and every retry
-- wait; wait's own timeout bounds the gets inside it the same way. A call
-- that runs out ends with code "timeout", its attempts counted.
local H = require "spec.helper"
local zavu = require "zavu"

-- Time bounds here only tell "bounded" from "not bounded": the calls they
-- check take 10 s or more without total_timeout, so the margins are wide.
local MARGIN = os.getenv("ZAVU_UNDER_ASAN") and 3 or 1.5

local function timed(f, ...)
  local t0 = H.now()
  local a, b = f(...)
  return H.now() - t0, a, b
end

-- The message says how many attempts were made, once, and no word twice in
-- a row of the kind "after ... after".
local function says_attempts(err)
  local n = tonumber(err.message:match("(%d+) attempts? made"))
  assert.are.equal(err.attempts, n, err.message)
  local _, afters = err.message:gsub("after", "")
  assert.is_true(afters <= 1, err.message)
end

describe("total_timeout", function()
  it("ends a call behind 429s before a retry wait would pass it", function()
    -- five 429s asking for 0.7 s each: attempts at 0, 0.7 and 1.4 s; the
    -- third wait would end at 2.1 s, past the 2 s total
    local id = "ratelimit-5-700-" .. H.nonce()
    local took, ok, err = timed(H.client().sessions.delete, id, { total_timeout = 2, max_retries = 5 })
    assert.is_nil(ok)
    assert.are.equal("timeout", err.code)
    assert.are.equal(3, err.attempts)
    assert.are.equal(3, H.info(id).hits)
    assert.are.equal(429, err.status)
    assert.are.equal(0.7, err.retry_after)
    assert.is_true(err.retryable)
    says_attempts(err)
    assert.matches("total_timeout ran out", err.message, 1, true)
    assert.is_true(took < 2, ("took %.3f s"):format(took))
  end)

  it("does not wait a retry the server asks for past the deadline", function()
    local id = "retryafter-10-secs-" .. H.nonce()
    local took, ok, err = timed(H.client().sessions.delete, id, { total_timeout = 3 })
    assert.is_nil(ok)
    assert.are.equal("timeout", err.code)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, H.info(id).hits)
    says_attempts(err)
    assert.matches("(10 s)", err.message, 1, true)
    assert.is_true(took < MARGIN, ("took %.3f s"):format(took))
  end)

  it("gives each attempt against a slow server only what is left", function()
    local id = "slow-5000-" .. H.nonce()
    local took, ok, err = timed(H.client().sessions.get, id, { timeout = 1, total_timeout = 2.5, max_retries = 5 })
    assert.is_nil(ok)
    assert.are.equal("timeout", err.code)
    assert.is_true(err.attempts >= 2 and err.attempts <= 3, tostring(err.attempts))
    assert.are.equal(err.attempts, H.info(id).hits)
    says_attempts(err)
    assert.is_true(took >= 2 - 0.1 and took < 2.5 + MARGIN, ("took %.3f s"):format(took))
  end)

  it("cuts the last attempt at the deadline", function()
    local id = "slow-5000-" .. H.nonce()
    local took, ok, err = timed(H.client().sessions.delete, id, { total_timeout = 1 })
    assert.is_nil(ok)
    assert.are.equal("timeout", err.code)
    assert.are.equal(1, err.attempts)
    assert.are.equal("total_timeout ran out: 1 attempt made; the last one was cut short", err.message)
    assert.is_true(took >= 0.95 and took < 1 + MARGIN, ("took %.3f s"):format(took))
  end)

  it("is a client default, and a call's own wins over it", function()
    local c = H.client { total_timeout = 1 }
    local took, ok, err = timed(c.sessions.get, "slow-5000-" .. H.nonce())
    assert.is_nil(ok)
    assert.are.equal("timeout", err.code)
    assert.is_true(took < 1 + MARGIN, ("took %.3f s"):format(took))
    took, ok = timed(c.sessions.get, "slow-1500-" .. H.nonce(), { total_timeout = 5 })
    assert.are.equal("table", type(ok))
    assert.is_true(took >= 1.4, ("took %.3f s"):format(took)) -- the mock sleeps 1.5 s; clocks differ by a little
  end)

  it("bounds request and delete_many as it bounds the made methods", function()
    local c = H.client()
    local took, ok, err = timed(c.request, "GET", "/v1/whatsapp-alt/sessions/{id}", {
      params = { "ratelimit-5-700-" .. H.nonce() },
      total_timeout = 1,
      max_retries = 5,
    })
    assert.is_nil(ok)
    assert.are.equal("timeout", err.code)
    assert.are.equal(2, err.attempts)
    says_attempts(err)
    assert.is_true(took < 1 + MARGIN, ("took %.3f s"):format(took))
  end)

  it("bounds a whole delete_many batch, not each id", function()
    -- two slots: the first two ids end at 2 s, the next two are cut at the
    -- 3 s deadline, the last two are never sent
    local tag = H.nonce()
    local ids = {}
    for i = 1, 6 do
      ids[i] = "slow-2000-" .. i .. "-" .. tag
    end
    local took, s = timed(H.client().sessions.delete_many, ids, { concurrency = 2, total_timeout = 3 })
    assert.is_true(took < 3 + MARGIN, ("took %.3f s"):format(took))
    assert.are.same({ ids[1], ids[2] }, s.deleted)
    assert.are.equal(4, #s.failed)
    local by_id = {}
    for _, f in ipairs(s.failed) do
      assert.are.equal("timeout", f.error.code)
      says_attempts(f.error)
      by_id[f.id] = f.error
    end
    for i = 3, 4 do
      assert.are.equal(1, by_id[ids[i]].attempts)
      assert.are.equal(1, H.info(ids[i]).hits)
    end
    for i = 5, 6 do
      assert.are.equal(0, by_id[ids[i]].attempts)
      assert.is_nil(H.info(ids[i]).hits) -- never sent
      assert.matches("before this id was sent", by_id[ids[i]].message, 1, true)
    end
  end)

  it("under 1 ms counts as 1 ms everywhere: a listing and a wait send their request as a get does", function()
    local key = "zv_live_tiny" .. H.nonce()
    local c = H.client { api_key = key }
    local before = H.key_hits(key)
    local _, err = c.sessions.all(nil, { total_timeout = 1e-300 })
    local _, werr = c.sessions.wait("x" .. H.nonce(), { total_timeout = 1e-300 })
    -- each sent its request (which then ran out, or was answered), as a
    -- single get with the same total does
    assert.are.equal(before + 2, H.key_hits(key))
    if err then assert.are.equal(1, err.attempts) end
    if werr then assert.are.equal(1, werr.attempts) end
  end)

  it("bounds a whole listing: the page in flight at the deadline is cut there", function()
    -- pages after the first take 3 s: each and all must end at the 1 s total
    local key = "zv_live_" .. H.nonce()
    H.mock_seed(key, 3, {})
    H.mock_misbehave(key, "slow-later")
    local c = H.client { api_key = key }
    local took, items, err = timed(c.sessions.all, { limit = 1 }, { total_timeout = 1 })
    assert.is_nil(items)
    assert.are.equal("timeout", err.code)
    assert.are.equal(2, err.attempts)
    assert.is_true(took < MARGIN, ("all took %.3f s"):format(took))
    local seen = 0
    took, items, err = timed(pcall, function()
      for _ in c.sessions.each({ limit = 1 }, { total_timeout = 1 }) do
        seen = seen + 1
      end
    end)
    assert.is_false(items)
    assert.are.equal("timeout", err.code)
    assert.are.equal(1, seen)
    assert.is_true(took < MARGIN, ("each took %.3f s"):format(took))
  end)

  it("is checked like every option of seconds", function()
    local c = H.client()
    for _, bad in ipairs { 0, -1, 0 / 0, math.huge, "5" } do
      assert.has_error(function() c.sessions.delete("x" .. H.nonce(), { total_timeout = bad }) end, nil, tostring(bad))
      assert.has_error(function() zavu.new { api_key = H.key, total_timeout = bad } end)
    end
    local ok, err = pcall(c.sessions.delete, "x", { total_timeout = 0 })
    assert.is_false(ok)
    assert.matches("bad option 'total_timeout'", err, 1, true)
  end)
end)

describe("wait", function()
  it("behind a 429 ends within its own timeout", function()
    -- the get is answered 429 with Retry-After: 10; the wait has 3 s
    local id = "retryafter-10-secs-" .. H.nonce()
    local took, s, err = timed(H.client().sessions.wait, id, { timeout = 3 })
    assert.is_nil(s)
    assert.are.equal("timeout", err.code)
    assert.are.equal(1, H.info(id).hits)
    assert.is_true(took < 3 + MARGIN, ("took %.3f s"):format(took))
  end)

  it("is bounded by a total_timeout shorter than its timeout", function()
    local id = "ratelimit-20-700-" .. H.nonce()
    local took, s, err = timed(H.client({ max_retries = 5 }).sessions.wait, id, { timeout = 60, total_timeout = 1.5 })
    assert.is_nil(s)
    assert.are.equal("timeout", err.code)
    assert.is_true(took < 1.5 + MARGIN, ("took %.3f s"):format(took))
  end)
end)
