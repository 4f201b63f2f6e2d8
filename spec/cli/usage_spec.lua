-- Usage errors: exit 2, one line naming the bad argument and a hint on
-- stderr, nothing on stdout, and nothing sent (the mock never sees the id).
local H = require "spec.helper"
local S = require "spec.cli.support"

local function usage_error(args, pattern, env, ids)
  local out, err, status = S.run(args, env)
  assert.are.equal(2, status, "exit status for `zavu " .. args .. "`: " .. err)
  assert.are.equal("", out)
  assert.matches(pattern, err, 1, true)
  assert.matches("Try 'zavu[%w %-]* %-%-help'%.", err)
  assert.not_matches("traceback", err)
  for _, id in ipairs(ids or {}) do
    assert.is_true(S.untouched(id), id .. " reached the mock")
  end
end

describe("zavu usage errors", function()
  it("never takes an unknown flag for an id", function()
    local id = S.id()
    usage_error(
      "sessions delete --bogus " .. id,
      "unknown flag '--bogus' for 'zavu sessions delete'",
      nil,
      { id, "--bogus" }
    )
    usage_error("sessions delete " .. id .. " --bogus", "unknown flag '--bogus'", nil, { id, "--bogus" })
    usage_error("sessions delete -x " .. id, "unknown flag '-x'", nil, { id, "-x" })
    usage_error("--bogus sessions list", "unknown flag '--bogus'")
  end)

  it("takes anything after -- as an id, even one that starts with -", function()
    local id = "-" .. S.id()
    local out, err, status = S.run("sessions delete -- " .. id)
    assert.are.equal(0, status, err)
    assert.are.equal("deleted session " .. id .. "\n", out)
    assert.are.equal(1, H.info(id).hits)
  end)

  it("names a flag that lacks its value, and never takes the next flag as one", function()
    local id = S.id()
    usage_error("sessions delete " .. id .. " --from-file", "--from-file needs a value (FILE)", nil, { id })
    usage_error(
      "sessions delete " .. id .. " --from-file --missing-ok",
      "--from-file needs a value (FILE), not the flag '--missing-ok'",
      nil,
      { id }
    )
    usage_error("sessions delete --json=yes " .. id, "--json takes no value", nil, { id })
  end)

  it("checks every value before sending anything", function()
    local id = S.id()
    for args, pattern in pairs {
      ["--timeout abc"] = "bad value for --timeout: 'abc'",
      ["--timeout 0"] = "bad value for --timeout: '0'",
      ["--connect-timeout -1s"] = "bad value for --connect-timeout: '-1s'",
      ["--max-retries 2.5"] = "bad value for --max-retries: '2.5'",
      ["--max-retries 101"] = "bad value for --max-retries: '101'",
      ["--concurrency 0"] = "bad value for --concurrency: '0'",
      ["--concurrency 65"] = "bad value for --concurrency: '65'",
      ["--base-url ftp://host"] = "bad value for --base-url: 'ftp://host'",
      ["--ca-file /"] = "cannot read --ca-file /: Is a directory",
      ["--ca-file /nonexistent/ca.pem"] = "cannot read --ca-file /nonexistent/ca.pem: No such file",
      ["--from-file /"] = "cannot read --from-file /: Is a directory",
      ["--from-file /nonexistent/ids"] = "cannot read --from-file /nonexistent/ids: No such file",
    } do
      usage_error("sessions delete " .. id .. " " .. args, pattern, nil, { id })
    end
    usage_error("sessions list --status readyy", "bad value for --status: 'readyy' (one of initializing,")
    usage_error("sessions prune --older-than 7x", "bad value for --older-than: '7x'")
    usage_error("sessions prune --status failed --older-than 7", "an age with its unit expected") -- not 7 s
    usage_error("sessions create --egress direct", "bad value for --egress: 'direct' (one of external, android")
  end)

  it("names a missing or extra argument", function()
    local id = S.id()
    usage_error("sessions delete", "missing ID (or --from-file FILE)")
    usage_error("sessions get", "missing ID")
    usage_error("sessions get " .. id .. " extra", "unexpected argument 'extra'", nil, { id, "extra" })
    usage_error("sessions link " .. id, "missing SENDER", nil, { id })
    usage_error("sessions get ''", "ID is empty")
    usage_error("egress-nodes list", "missing --sender ID")
    usage_error("sessions create --egress android", "--egress android needs --node ID")
    usage_error("sessions create --egress external --node n1", "--node goes with --egress android")
    usage_error("sessions set-egress " .. id, "missing --egress", nil, { id })
  end)

  it("names an unknown command, and a group without one", function()
    usage_error("sessoins list", "unknown command 'sessoins' for 'zavu'")
    usage_error("sessions frob", "unknown command 'frob' for 'zavu sessions'")
    usage_error("sessions", "'zavu sessions' needs a command")
    usage_error("help nothing", "no help for 'nothing'")
  end)

  it("needs an API key, and says so before sending", function()
    local id = S.id()
    usage_error("sessions delete " .. id, "no API key: set ZAVUDEV_API_KEY", { ZAVUDEV_API_KEY = "" }, { id })
  end)

  it("refuses an id the API could never take as a usage error", function()
    local _, err, status = S.run("sessions delete ..")
    assert.are.equal(2, status)
    assert.matches("invalid_argument", err, 1, true)
  end)

  it("prune: says what to prune, and never deletes off a terminal without --yes", function()
    usage_error("sessions prune", "say what to prune: --status S[,S] and/or --older-than AGE")
    usage_error("sessions prune --status failed", "not on a terminal, so no one to ask: add --yes")
  end)

  it("prints the short usage on stderr and exits 2 with no command", function()
    local out, err, status = S.run("")
    assert.are.equal(2, status)
    assert.are.equal("", out)
    assert.matches("Usage: zavu", err, 1, true)
  end)
end)

describe("zavu and the API's bounds", function()
  it("refuses a --name or --label the API would refuse, as a usage error, sending nothing", function()
    local key = S.key()
    local function refused(args, text)
      local out, err, status = S.run_as(key, args)
      assert.are.equal(2, status, err)
      assert.are.equal("", out)
      assert.matches(text, err, 1, true)
      assert.not_matches("internal error", err)
    end
    refused(
      "sessions create --name " .. ("n"):rep(201),
      "bad body field 'displayName' to 'create' (at most 200 characters expected, got 201)"
    )
    refused(
      "egress-nodes create --sender snd_1 --label " .. ("l"):rep(101),
      "bad body field 'label' to 'create' (at most 100 characters expected, got 101)"
    )
    assert.are.equal(0, H.key_hits(key))
    local _, err, status = S.run_as(key, "sessions create --name " .. ("n"):rep(200))
    assert.are.equal(0, status, err)
    assert.are.equal(1, H.key_hits(key))
  end)
end)

describe("zavu's error line", function()
  it("says each thing once: libcurl's own 'after 0 ms', then the attempts apart", function()
    local url = "http://127.0.0.1:" .. H.free_port()
    local out, err, status = S.run("--base-url " .. url .. " sessions get " .. S.id())
    assert.are_not.equal(0, status)
    assert.are.equal("", out)
    assert.matches("connection_error", err, 1, true)
    assert.matches(" (3 attempts)", err, 1, true)
    local _, afters = err:gsub("after", "")
    assert.is_true(afters <= 1, err)
    local _, zavus = err:gsub("zavu:", "")
    assert.are.equal(1, zavus, err)
  end)
end)
