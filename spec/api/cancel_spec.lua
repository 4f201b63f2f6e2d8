-- Cancellation: zavu.cancel_all() from another thread or Ctrl-C (a SIGINT
-- caught by zavu.core.catch_interrupt) ends what is in flight at once.
local H = require "spec.helper"
local zavu = require "zavu"

-- A child interpreter that runs `code` and is sent SIGINT after `after` s;
-- returns its output and how long after the SIGINT its call returned (the
-- child prints "returned=<time>"; the process's own exit is not counted:
-- under the sanitizers, the leak check at exit takes a while).
local function interrupted(code, after)
  local file = H.write_tmp(
    'local gettime = require("socket").gettime\n' .. code .. '\nprint(("returned=%.6f"):format(gettime()))\n'
  )
  local out = H.sh(
    ('%s %s & pid=$!; sleep %s; echo "killed=$(date +%%s.%%N)"; kill -INT $pid; wait $pid; echo "rc=$?"'):format(
      H.lua,
      file,
      after
    )
  )
  os.remove(file)
  local killed, returned = tonumber(out:match("killed=([%d.]+)")), tonumber(out:match("returned=([%d.]+)"))
  assert(killed and returned, out)
  return out, returned - killed
end

-- Half a second is the promise; under the sanitizers everything is several
-- times slower, and the bound only needs to tell a cancel from a hang (8 s).
local BOUND = os.getenv("ZAVU_UNDER_ASAN") and 2 or 0.5

local PRELUDE = ([[
  package.path = %q .. "/lua/?.lua;" .. %q .. "/lua/?/init.lua;" .. package.path
  local zavu = require "zavu"
  local core = require "zavu.core"
  core.catch_interrupt()
  local c = zavu.new { api_key = %q, base_url = %q }
]]):format(H.root, H.root, H.key, H.http_url)

describe("cancellation", function()
  it("ends a delete against a hung server within half a second of Ctrl-C, as cancelled", function()
    local out, late = interrupted(PRELUDE .. ([[
      local ok, err = c.sessions.delete("slow-8000-%s", { timeout = 30 })
      print(err and err.code, err and err.attempts, core.interrupted())
    ]]):format(H.nonce()), 0.5)
    assert.matches("cancelled\t1\t1", out)
    assert.matches("rc=0", out)
    assert.is_true(late < BOUND, "took " .. late .. " s after SIGINT")
  end)

  it("cuts a retry wait short", function()
    local out, late = interrupted(PRELUDE .. ([[
      local ok, err = c.sessions.delete("retryafter-20-secs-%s", { max_retries = 2 })
      print(err and err.code, err and err.attempts)
    ]]):format(H.nonce()), 0.5)
    assert.matches("cancelled\t1", out)
    assert.is_true(late < BOUND, "took " .. late .. " s after SIGINT")
  end)

  it("settles every id of a delete_many still open as cancelled", function()
    local out, late = interrupted(PRELUDE .. ([[
      local tag = "%s"
      local ids = { "a" .. tag, "slow-8000-b" .. tag, "slow-8000-c" .. tag }
      for i = 1, 20 do ids[#ids + 1] = "slow-8000-" .. i .. tag end
      local s = c.sessions.delete_many(ids, { concurrency = 2 })
      local codes = {}
      for _, f in ipairs(s.failed) do codes[f.error.code] = (codes[f.error.code] or 0) + 1 end
      print(#s.deleted, codes.cancelled, s.total)
    ]]):format(H.nonce()), 0.5)
    assert.matches("1\t22\t23", out)
    assert.is_true(late < BOUND, "took " .. late .. " s after SIGINT")
  end)

  it("from on_progress stops the rest of the batch; later calls run normally", function()
    local tag = H.nonce()
    local c = H.client()
    local ids = { "first" .. tag, "slow-5000-x" .. tag, "slow-5000-y" .. tag, "later" .. tag }
    local t0 = H.now()
    local s = c.sessions.delete_many(ids, {
      concurrency = 1,
      on_progress = function(done)
        if done == 1 then zavu.cancel_all() end
      end,
    })
    assert.is_true(H.now() - t0 < 2)
    assert.are.same({ "first" .. tag }, s.deleted)
    for _, f in ipairs(s.failed) do
      assert.are.equal("cancelled", f.error.code)
      assert.is_false(f.error.retryable)
    end
    assert.is_true(c.sessions.delete("after" .. tag))
  end)
end)
