-- zavu sessions delete: exit statuses, error lines, --json read back,
-- --from-file (a file, stdin), many ids at once.
local H = require "spec.helper"
local S = require "spec.cli.support"

describe("zavu sessions delete", function()
  it("exits 0 and says so when the session is deleted", function()
    local id = S.id()
    local out, err, status = S.run("sessions delete " .. id)
    assert.are.equal(0, status, err)
    assert.are.equal("deleted session " .. id .. "\n", out)
    assert.are.equal("", err)
    local seen = H.info(id)
    assert.are.equal("DELETE", seen.method)
    assert.are.equal("Bearer " .. H.key, seen.headers.authorization)
  end)

  it("exits 1 with one line: code, status, message, request id", function()
    local id = S.id("missing")
    local out, err, status = S.run("sessions delete " .. id)
    assert.are.equal(1, status)
    assert.are.equal("", out)
    assert.matches("^zavu: session " .. id:gsub("%p", "%%%0") .. ": session_not_found %(HTTP 404%): Session not found "
      .. "%[request_id=req_%x+%]\n$", err)
  end)

  it("puts the details in that line", function()
    local _, err, status = S.run("sessions delete " .. S.id("details"))
    assert.are.equal(1, status)
    assert.matches('session_busy (HTTP 422): Session is linking; details: {"retry_in":5,"state":"linking"} [request_id=req_',
      err, 1, true)
    local _, lines = err:gsub("\n", "")
    assert.are.equal(1, lines)
  end)

  it("counts a session already gone as deleted with --missing-ok", function()
    local _, err, status = S.run("sessions delete --missing-ok " .. S.id("missing"))
    assert.are.equal(0, status, err)
  end)

  it("--json: the summary, read back, for success and failure", function()
    local ok_id, bad_id = S.id(), S.id("details")
    local out, _, status = S.run("sessions delete --json " .. ok_id)
    assert.are.equal(0, status)
    local s = S.json(out)
    assert.are.same({ ok = true, total = 1, deleted = { ok_id }, failed = {} }, s)
    out, _, status = S.run("sessions delete " .. ok_id .. " " .. bad_id .. " --json")
    assert.are.equal(1, status)
    s = S.json(out)
    assert.is_false(s.ok)
    assert.are.same({ ok_id }, s.deleted)
    local e = s.failed[1].error
    assert.are.equal(bad_id, s.failed[1].id)
    assert.are.equal(422, e.status)
    assert.are.equal("session_busy", e.code)
    assert.are.same({ state = "linking", retry_in = 5 }, e.details)
    assert.matches("^req_", e.request_id)
  end)

  it("--json: the error table of a network failure", function()
    local port = H.free_port()
    local out, err, status = S.run("sessions delete --json --max-retries 0 " .. S.id(),
      { ZAVUDEV_BASE_URL = "http://127.0.0.1:" .. port })
    assert.are.equal(1, status)
    assert.matches("connection_error", err, 1, true)
    local e = S.json(out).failed[1].error
    assert.are.equal("connection_error", e.code)
    assert.is_nil(e.status)
    assert.are.equal(1, e.attempts)
  end)

  it("deletes the ids of --from-file concurrently, blank lines and spaces skipped, each once", function()
    local tag, lines, ids = H.nonce(), { "" }, {}
    for i = 1, 20 do
      ids[i] = "bulk-" .. tag .. "-" .. i
      lines[#lines + 1] = "  " .. ids[i] .. " \r"
    end
    lines[#lines + 1] = ids[1] -- again
    local file = H.write_tmp(table.concat(lines, "\n") .. "\n\n")
    local out, err, status = S.run("sessions delete --concurrency 4 --from-file " .. file)
    os.remove(file)
    assert.are.equal(0, status, err)
    assert.are.equal("deleted 20 of 20 sessions\n", out)
    assert.are.equal("", err) -- no progress bar off a terminal
    for i = 1, 20 do assert.are.equal(1, H.info(ids[i]).hits) end
  end)

  it("reads standard input with --from-file -, adds the ids given, and names each failure", function()
    local tag = H.nonce()
    local file = H.write_tmp(("in-%s\nmissing-%s\n"):format(tag, tag))
    local out, err, status = S.run("sessions delete arg-" .. tag .. " --from-file - < " .. file)
    os.remove(file)
    assert.are.equal(1, status)
    assert.are.equal("deleted 2 of 3 sessions\n", out)
    assert.matches("zavu: session missing-" .. tag .. ": session_not_found (HTTP 404)", err, 1, true)
    assert.are.equal(1, H.info("arg-" .. tag).hits)
  end)

  it("exits 0 with nothing to do for an empty --from-file", function()
    local file = H.write_tmp("\n\n")
    local out, err, status = S.run("sessions delete --json --from-file " .. file)
    os.remove(file)
    assert.are.equal(0, status, err)
    assert.are.same({ ok = true, total = 0, deleted = {}, failed = {} }, S.json(out))
  end)

  it("takes the common flags: --base-url over the environment, --timeout, --ca-file", function()
    local id = S.id()
    local _, err, status = S.run(("sessions delete %s --base-url %s --ca-file %s --timeout 5 --connect-timeout 2")
      :format(id, H.https_url, H.ca_file), { ZAVUDEV_BASE_URL = "http://127.0.0.1:1" })
    assert.are.equal(0, status, err)
    assert.are.equal(1, H.info(id).hits)
    _, err, status = S.run(("sessions delete %s --base-url %s --max-retries 0"):format(S.id(), H.https_url))
    assert.are.equal(1, status)
    assert.matches("tls_error", err, 1, true)
  end)

  it("times out as --timeout says", function()
    local t0 = H.now()
    local _, err, status = S.run("sessions delete --timeout 300ms --max-retries 0 " .. S.id("slow-3000"))
    assert.are.equal(1, status)
    assert.matches("timeout", err, 1, true)
    assert.is_true(H.now() - t0 < 2.5)
  end)

  it("-v: one line per attempt, and the key never shown", function()
    local id = S.id("flaky-1-503")
    local _, err, status = S.run("-v sessions delete " .. id)
    assert.are.equal(0, status, err)
    assert.matches("DELETE /v1/whatsapp%-alt/sessions/" .. id:gsub("%p", "%%%0") .. " %-> 503 .-attempt 1/3", err)
    assert.matches("%-> 204 %d+ms attempt 2/3", err)
    assert.matches("key zv_live_... (set; never shown)", err, 1, true)
    assert.not_matches(H.key:sub(9), err, 1, true)
    assert.not_matches(H.key:sub(-4), err, 1, true)
  end)
end)
