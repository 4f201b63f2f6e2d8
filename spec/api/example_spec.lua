-- examples/delete_session.lua is a usable command: exit 0 on success, the
-- error on stderr and exit 1 otherwise.
local H = require "spec.helper"

local function run(args, env)
  local prefix = ""
  for k, v in pairs(env) do prefix = prefix .. k .. "='" .. v .. "' " end
  return H.sh(prefix .. H.lua .. " " .. H.root .. "/examples/delete_session.lua " .. args)
end

describe("examples/delete_session.lua", function()
  local env = { ZAVUDEV_API_KEY = H.key, ZAVUDEV_BASE_URL = H.http_url }

  it("exits 0 when the session is deleted", function()
    local id = "example-" .. H.nonce()
    local out, err, status = run(id, env)
    assert.are.equal(0, status, err)
    assert.matches("deleted session " .. id, out, 1, true)
    assert.are.equal("", err)
    assert.are.equal(1, H.info(id).hits)
  end)

  it("prints the error table on stderr and exits 1 when it fails", function()
    local out, err, status = run("missing-" .. H.nonce(), env)
    assert.are.equal(1, status)
    assert.are.equal("", out)
    assert.matches("session_not_found (HTTP 404)", err, 1, true)
    assert.matches("request_id%s+req_%x+", err)
  end)

  it("treats a missing session as done with --missing-ok", function()
    local _, err, status = run("missing-" .. H.nonce() .. " --missing-ok", env)
    assert.are.equal(0, status, err)
  end)

  it("exits 1 with usage when no id is given", function()
    local _, err, status = run("", env)
    assert.are.equal(1, status)
    assert.matches("usage", err)
  end)

  it("exits 1 with missing_api_key when there is no key", function()
    local _, err, status = run("abc", { ZAVUDEV_API_KEY = "", ZAVUDEV_BASE_URL = H.http_url })
    assert.are.equal(1, status)
    assert.matches("missing_api_key", err)
  end)
end)
