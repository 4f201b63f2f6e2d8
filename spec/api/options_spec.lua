-- Options: one rule on every interpreter. Wrong types and impossible values
-- raise naming the option and its range; tiny and huge values are clamped.
local H = require "spec.helper"
local zavu = require "zavu"

local function raises(pattern, f)
  local ok, msg = pcall(f)
  assert.is_false(ok, "expected an error matching " .. pattern)
  assert.matches(pattern, tostring(msg))
end

describe("an option", function()
  local c = H.client()

  it("of seconds refuses NaN, infinities, zero, negatives and non-numbers, naming itself", function()
    for _, v in ipairs { 0 / 0, math.huge, -math.huge, 0, -1, "5", true } do
      raises("bad option 'timeout' %(", function() c.sessions.delete("x", { timeout = v }) end)
      raises("bad option 'timeout' %(", function() H.client { timeout = v } end)
      raises("bad option 'connect_timeout' %(", function() H.client { connect_timeout = v } end)
    end
    raises(
      "bad option 'max_retry_wait' %(finite number of seconds >= 0 expected, got inf%)",
      function() H.client { max_retry_wait = math.huge } end
    )
    raises(
      "bad option 'timeout' %(finite number of seconds > 0 expected, got nan%)",
      function() H.client { timeout = 0 / 0 } end
    )
  end)

  it("of seconds under 1 ms counts as 1 ms, never as no timeout", function()
    local t0 = H.now()
    local ok, err = c.sessions.delete("slow-3000-" .. H.nonce(), { timeout = 0.0005, max_retries = 0 })
    assert.is_nil(ok)
    assert.are.equal("timeout", err.code)
    assert.is_true(H.now() - t0 < 2, "took " .. (H.now() - t0))
    local c2 = H.client { timeout = 1e-9, max_retries = 0 }
    assert.are.equal("timeout", select(2, c2.sessions.delete("slow-3000-" .. H.nonce())).code)
  end)

  it("of seconds beyond what libcurl holds is clamped, and works", function()
    local big = H.client { timeout = 1e300, connect_timeout = 1e300, max_retry_wait = 1e300 }
    assert.is_true(big.sessions.delete("large-" .. H.nonce(), { timeout = 1e300 }))
  end)

  it("that counts takes whole numbers only, 2.0 as 2, on every interpreter", function()
    local tag = H.nonce()
    assert.is_nil((H.client { max_retries = 2.0 }).sessions.delete("flaky-3-503-" .. tag))
    assert.are.equal(3, H.info("flaky-3-503-" .. tag).hits)
    for _, v in ipairs { 2.5, -1, 101, 1e300, 0 / 0, math.huge, "2" } do
      raises("bad option 'max_retries' %(integer 0%.%.100 expected, got ", function() H.client { max_retries = v } end)
      raises(
        "bad option 'max_retries' %(integer 0%.%.100 expected",
        function() c.sessions.delete("x", { max_retries = v }) end
      )
    end
    for _, v in ipairs { 64.5, 0, 65, -1, 1e300, 0 / 0 } do
      raises(
        "bad option 'concurrency' %(integer 1%.%.64 expected, got ",
        function() c.sessions.delete_many({ "x" }, { concurrency = v }) end
      )
    end
    local s = c.sessions.delete_many({ "w1-" .. tag, "w2-" .. tag }, { concurrency = 2.0 })
    assert.is_true(s.ok)
  end)

  it("that is a flag takes booleans only", function()
    raises(
      "bad option 'missing_ok' %(boolean expected, got number%)",
      function() c.sessions.delete("x", { missing_ok = 1 }) end
    )
    raises("bad option 'debug' %(boolean expected, got string%)", function() H.client { debug = "yes" } end)
  end)

  it("is checked the same way by check_options and check_call_options", function()
    raises("bad option 'timeout'", function() zavu.check_options { timeout = "5" } end)
    raises("bad option 'api_key' %(string expected, got number%)", function() zavu.check_options { api_key = 42 } end)
    raises("bad option 'concurrency'", function() zavu.check_call_options { concurrency = 0 } end)
    raises("bad option 'on_progress' %(function expected", function() zavu.check_call_options { on_progress = 1 } end)
    assert.has_no_error(function()
      zavu.check_options { timeout = 1, api_key = "zv_live_x" }
      zavu.check_call_options { timeout = 2, missing_ok = true, concurrency = 8 }
      zavu.check_call_options(nil)
    end)
  end)
end)

describe("the base URL", function()
  it("refuses an empty query or fragment, which would swallow the API path", function()
    for _, suffix in ipairs { "/#", "/?", "#", "?" } do
      local tag = H.nonce()
      local c = H.client { base_url = H.http_url .. suffix }
      local ok, err = c.sessions.delete("frag-" .. tag)
      assert.is_nil(ok)
      assert.are.equal("invalid_argument", err.code)
      assert.are.equal(0, err.attempts)
      assert.is_nil(H.info("frag-" .. tag).hits)
    end
  end)
end)

describe("the user_agent option", function()
  it("refuses control characters, which would inject a header", function()
    raises(
      "bad option 'user_agent' %(control characters",
      function() H.client { user_agent = "app/1\r\nX-Injected: yes" } end
    )
  end)

  it("reaches the server in full, however long", function()
    local ua = "app/" .. ("x"):rep(600)
    local id = "ua-" .. H.nonce()
    assert.is_true(H.client({ user_agent = ua }).sessions.delete(id))
    local sent = H.info(id).headers["user-agent"]
    assert.are.equal(ua, sent:sub(-#ua))
  end)
end)

describe("the compiled module", function()
  it("keeps its wipes of the key: it calls explicit_bzero, which the compiler may not drop", function()
    local out = H.sh("nm -D --undefined-only " .. H.root .. "/build/" .. H.lua .. "/zavu/core.so")
    assert.matches("explicit_bzero", out)
  end)
end)
