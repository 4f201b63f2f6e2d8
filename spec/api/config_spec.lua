-- Local errors (no request sent), options, the environment and the debug log.
local H = require "spec.helper"
local zavu = require "zavu"

local function assert_local_error(ok, err, code, pattern)
  assert.is_nil(ok)
  assert.are.equal(code, err.code)
  assert.is_nil(err.status)
  assert.are.equal(0, err.attempts)
  assert.is_false(err.retryable)
  if pattern then assert.matches(pattern, err.message) end
end

describe("a local error", function()
  local client = H.client()

  it("rejects an empty id, '.', '..' and ids over 1024 bytes without a request", function()
    local long = H.nonce() -- fresh: the record read back is this run's alone
    long = long .. string.rep("a", 1025 - #long)
    for _, id in ipairs { "", ".", "..", long } do
      local ok, err = client.sessions.delete(id)
      assert_local_error(ok, err, "invalid_argument")
    end
    assert.is_nil(H.info(long).hits)
  end)

  it("is missing_api_key when there is no key", function()
    local c = zavu.new { api_key = "", base_url = H.http_url }
    assert_local_error(c.sessions.delete("x"), select(2, c.sessions.delete("x")), "missing_api_key", "ZAVUDEV_API_KEY")
  end)

  it("is test_mode_key for zv_test_ keys, which this endpoint refuses", function()
    local c = H.client { api_key = "zv_test_abc" }
    local ok, err = c.sessions.delete("x")
    assert_local_error(ok, err, "test_mode_key", "test%-mode")
  end)

  it("is invalid_argument for a key with control characters, without showing the key", function()
    local key = "zv_live_secret\r\nX-Evil: 1"
    local c = H.client { api_key = key }
    local ok, err = c.sessions.delete("x")
    assert_local_error(ok, err, "invalid_argument", "control")
    assert.is_nil(tostring(err):find("secret", 1, true))
  end)

  it("is insecure_transport for plain http to a non-loopback host", function()
    local c = H.client { base_url = "http://0.0.0.0:" .. H.http_port }
    local ok, err = c.sessions.delete("x")
    assert_local_error(ok, err, "insecure_transport", "https")
  end)

  it("lets allow_insecure_http opt in", function()
    local c = H.client { base_url = "http://0.0.0.0:" .. H.http_port, allow_insecure_http = true }
    assert.is_true(c.sessions.delete("insecure-" .. H.nonce()))
  end)

  it("counts 127.0.0.0/8, ::1 and localhost as loopback", function()
    for _, base in ipairs {
      "http://127.0.0.1:1",
      "http://127.8.9.10:1",
      "http://localhost:1",
      "http://LOCALHOST.:1",
      "http://[::1]:1",
      "http://[::ffff:127.0.0.1]:1",
    } do
      local _, err = H.client { base_url = base, max_retries = 0 }.sessions.delete("x")
      assert.are.equal("connection_error", err.code, base)
    end
  end)

  it("rejects base URLs that are not plain http(s)", function()
    for _, base in ipairs {
      "ftp://127.0.0.1",
      "127.0.0.1:80",
      "http://127.0.0.1/?a=b",
      "http://user:pw@127.0.0.1/",
      "http://127.0.0.1/#x",
      "not a url",
    } do
      local ok, err = H.client { base_url = base }.sessions.delete("x")
      assert_local_error(ok, err, "invalid_argument")
    end
  end)
end)

describe("misuse", function()
  it("raises for a wrong id type, like luaL_checkstring", function()
    local c = H.client()
    assert.has_error(function() c.sessions.delete() end)
    assert.has_error(function() c.sessions.delete({}) end)
    assert.has_error(function() c.sessions.delete(true) end)
  end)

  it("raises for options of the wrong type", function()
    assert.has_error(function() zavu.new "key" end)
    assert.has_error(function() zavu.new { timeout = "10" } end)
    assert.has_error(function() zavu.new { timeout = -1 } end)
    assert.has_error(function() zavu.new { max_retries = 1.5 } end)
    assert.has_error(function() zavu.new { api_key = 42 } end)
    assert.has_error(function() zavu.new { allow_insecure_http = "yes" } end)
    assert.has_error(function() H.client().sessions.delete("x", { missing_ok = 1 }) end)
  end)

  it("raises on a closed client, and closing twice is fine", function()
    local c = H.client()
    c.close()
    c.close()
    assert.has_error(function() c.sessions.delete("x") end)
  end)
end)

describe("the environment", function()
  local script = [[
    local zavu = require "zavu"
    local ok, err = zavu.sessions.delete(arg and arg[1] or "%s")
    print(ok, err and err.code, err and err.details and err.details.headers.authorization)
  ]]

  it("gives the default client ZAVUDEV_API_KEY and ZAVUDEV_BASE_URL", function()
    local out, status = H.run_lua(script:format("echo-env"), {
      ZAVUDEV_API_KEY = "zv_live_from_env",
      ZAVUDEV_BASE_URL = H.http_url .. "/",
    })
    assert.are.equal(0, status, out)
    assert.matches("nil\techo\tBearer zv_live_from_env", out, 1, true)
  end)

  it("defaults to https://api.zavu.dev, which needs a key first", function()
    local out = H.run_lua(script:format("x"), {})
    assert.matches("nil\tmissing_api_key", out, 1, true)
  end)

  it("logs one line per attempt with ZAVUDEV_LOG=debug, never the key", function()
    local out, status = H.run_lua(script:format("flaky-1-503-" .. H.nonce()), {
      ZAVUDEV_API_KEY = H.key,
      ZAVUDEV_BASE_URL = H.http_url,
      ZAVUDEV_LOG = "debug",
    })
    assert.are.equal(0, status, out)
    local lines = {}
    for l in out:gmatch("zavu: [^\n]+") do
      lines[#lines + 1] = l
    end
    assert.are.equal(2, #lines, out)
    assert.matches(
      "^zavu: DELETE /v1/whatsapp%-alt/sessions/flaky%-1%-503%-%w+ %-> 503 %d+ms attempt 1/3, retrying in 0%.001s$",
      lines[1]
    )
    assert.matches("%-> 204 %d+ms attempt 2/3$", lines[2])
    assert.is_nil(out:find(H.key, 1, true))
  end)

  it("logs transport errors by code", function()
    local out = H.run_lua(script:format("x"), {
      ZAVUDEV_API_KEY = H.key,
      ZAVUDEV_BASE_URL = "http://127.0.0.1:1",
      ZAVUDEV_LOG = "debug",
    })
    assert.matches("zavu: DELETE /v1/whatsapp%-alt/sessions/x %-> connection_error %d+ms attempt 1/3", out)
  end)
end)

describe("what a mutant of the defaults would break", function()
  it("waits 0.375..0.5 s before the first retry, with jitter: never one exact figure", function()
    local tag = H.nonce()
    local ids = {}
    for i = 1, 8 do
      ids[i] = "backoff-1-" .. i .. tag
    end
    local out = H.run_lua(
      ([[
      local zavu = require "zavu"
      local s = zavu.new().sessions.delete_many(%s, { concurrency = 8 })
      print("ok", s.ok)
    ]]):format(require("cjson").encode(ids):gsub("^%[", "{"):gsub("%]$", "}")),
      {
        ZAVUDEV_API_KEY = H.key,
        ZAVUDEV_BASE_URL = H.http_url,
        ZAVUDEV_LOG = "debug",
      }
    )
    assert.matches("ok\ttrue", out)
    local waits, distinct = {}, {}
    for w in out:gmatch("retrying in ([%d.]+)s") do
      waits[#waits + 1] = tonumber(w)
      distinct[w] = true
    end
    assert.are.equal(8, #waits, out)
    for _, w in ipairs(waits) do
      assert.is_true(w >= 0.375 and w <= 0.5, w)
    end
    local n = 0
    for _ in pairs(distinct) do
      n = n + 1
    end
    assert.is_true(n > 1, "8 waits, all " .. waits[1])
  end)

  it("keeps one default client: zavu.sessions calls share its connection", function()
    local tag = H.nonce()
    local out = H.run_lua(
      ([[
      local zavu = require "zavu"
      print(zavu.sessions.delete("d1-%s"), zavu.sessions.delete("d2-%s"))
    ]]):format(tag, tag),
      { ZAVUDEV_API_KEY = H.key, ZAVUDEV_BASE_URL = H.http_url }
    )
    assert.matches("true\ttrue", out)
    assert.are.equal(H.info("d1-" .. tag).connection, H.info("d2-" .. tag).connection)
  end)

  it("lets an explicit api_key win over ZAVUDEV_API_KEY", function()
    local id = "explicit-" .. H.nonce()
    local out = H.run_lua(
      ([[
      local zavu = require "zavu"
      print(zavu.new({ api_key = %q }).sessions.delete(%q))
    ]]):format(H.key, id),
      { ZAVUDEV_API_KEY = "zv_live_from_env_loses", ZAVUDEV_BASE_URL = H.http_url }
    )
    assert.matches("true", out)
    assert.are.equal("Bearer " .. H.key, H.info(id).headers.authorization)
  end)

  it("is_error wants code, message and attempts", function()
    assert.is_false(zavu.is_error { code = "x", message = "y" })
    assert.is_false(zavu.is_error { code = "x", attempts = 1 })
    assert.is_true(zavu.is_error { code = "x", message = "y", attempts = 0 })
    local _, err = H.client().sessions.delete("")
    assert.is_true(zavu.is_error(err))
  end)
end)

describe("the API key", function()
  it("never appears in an error, its tostring or its message", function()
    local key = "zv_live_TOPSECRET_123"
    local c = H.client { api_key = key, max_retries = 0, timeout = 0.3 }
    for _, id in ipairs { "missing-1", "html-1", "echo-1", "slow-1000", "garbage-1", "" } do
      local _, err = c.sessions.delete(id)
      assert.is_nil(tostring(err):find("TOPSECRET", 1, true), id)
      assert.is_nil(err.message:find("TOPSECRET", 1, true), id)
    end
  end)
end)
