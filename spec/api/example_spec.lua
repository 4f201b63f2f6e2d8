-- examples/delete_session.lua is a usable command: exit 0 on success, the
-- error on stderr and exit 1 otherwise.
local H = require "spec.helper"

local function run(args, env)
  return H.sh(H.env_prefix(env) .. H.lua .. " " .. H.root .. "/examples/delete_session.lua " .. args)
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

  it("deletes every id of --from-file concurrently, exit 0 when all are gone", function()
    local tag = H.nonce()
    local lines = { "" } -- blank lines and blanks around ids are fine
    for i = 1, 30 do lines[#lines + 1] = "  bulk-" .. tag .. "-" .. i end
    local file = H.write_tmp(table.concat(lines, "\n") .. "\n\n")
    local out, err, status = run("--from-file " .. file, env)
    os.remove(file)
    assert.are.equal(0, status, err)
    assert.matches("deleted 30 of 30 sessions", out, 1, true)
    assert.are.equal("", err) -- no progress bar when stderr is not a terminal
    for i = 1, 30 do assert.are.equal(1, H.info("bulk-" .. tag .. "-" .. i).hits) end
  end)

  it("reads ids from standard input with --from-file -, naming each failure", function()
    local tag = H.nonce()
    local out, err, status = run("--from-file - < " .. H.write_tmp(("in-%s\nmissing-%s\n"):format(tag, tag)), env)
    assert.are.equal(1, status)
    assert.matches("deleted 1 of 2 sessions", out, 1, true)
    assert.matches("missing-" .. tag .. ": zavu: session_not_found (HTTP 404)", err, 1, true)
  end)

  it("draws a progress bar when stderr is a terminal", function()
    local tag = H.nonce()
    local ids = {}
    for i = 1, 10 do ids[i] = "bar-" .. tag .. "-" .. i end
    local file = H.write_tmp(table.concat(ids, "\n") .. "\n")
    local cmd = H.env_prefix(env) .. H.lua .. " " .. H.root .. "/examples/delete_session.lua --from-file " .. file
    -- util-linux's script is not ours to check for leaks: under the asan
    -- suite only the interpreter it starts keeps the sanitizer preloaded.
    local preload = os.getenv("LD_PRELOAD")
    if preload then cmd = "LD_PRELOAD='" .. preload .. "' " .. cmd end
    local out, _, status = H.sh("env -u LD_PRELOAD script -qec " .. ("%q"):format(cmd) .. " /dev/null")
    os.remove(file)
    assert.are.equal(0, status, out)
    assert.matches("\r[" .. string.rep("#", 40) .. "] 10/10", out, 1, true)
    assert.matches("\r[" .. string.rep("#", 4) .. string.rep(" ", 36) .. "] 1/10", out, 1, true)
  end)

  it("exits 1 with missing_api_key when there is no key", function()
    local _, err, status = run("abc", { ZAVUDEV_API_KEY = "", ZAVUDEV_BASE_URL = H.http_url })
    assert.are.equal(1, status)
    assert.matches("missing_api_key", err)
  end)
end)
