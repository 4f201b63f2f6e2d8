-- --help at every level: stdout, exit 0, nothing sent; it wins over any
-- other mistake on the line. --version likewise.
local S = require "spec.cli.support"
local commands = require "zavu.cli.commands"

-- Every path of the command tree: {}, {"sessions"}, {"sessions", "list"}, ...
local function paths(node, prefix, out)
  out = out or {}
  out[#out + 1] = prefix
  for word, child in pairs(node.commands or {}) do
    local p = { unpack and unpack(prefix) or table.unpack(prefix) }
    p[#p + 1] = word
    paths(child, p, out)
  end
  return out
end

describe("zavu --help", function()
  for _, path in ipairs(paths(commands.tree, {})) do
    local words = table.concat(path, " ")
    it("at '" .. (words == "" and "zavu" or words) .. "': stdout, exit 0, lines of at most 80 columns", function()
      for _, flag in ipairs { "--help", "-h" } do
        local out, err, status = S.run(words .. " " .. flag, { ZAVUDEV_API_KEY = "" })
        assert.are.equal(0, status, err)
        assert.are.equal("", err)
        local usage = words == "" and "Usage: zavu [FLAGS] COMMAND" or ("Usage: zavu " .. words)
        assert.are.equal(usage, out:sub(1, #usage))
        for line in out:gmatch("[^\n]+") do
          assert.is_true(#line <= 80, "too wide: " .. line)
        end
      end
    end)
  end

  it("is the same as `zavu help ...`", function()
    local a = S.run("sessions delete --help")
    local b = S.run("help sessions delete")
    assert.are.equal(a, b)
  end)

  it("names every command in the top help, with the common flags and the exit statuses", function()
    local out = S.run("--help")
    for _, text in ipairs {
      "sessions list",
      "sessions get ID",
      "sessions create",
      "--wait",
      "sessions delete ID...",
      "--missing-ok",
      "--from-file FILE|-",
      "--concurrency N",
      "sessions prune",
      "--older-than AGE",
      "--dry-run",
      "--yes",
      "sessions reconnect ID",
      "sessions logout ID",
      "sessions unlink ID",
      "sessions link ID SENDER",
      "egress-nodes list",
      "egress-nodes pairing-token ID",
      "proxy-status",
      "--base-url URL",
      "--timeout SECS",
      "--connect-timeout SECS",
      "--max-retries N",
      "--ca-file FILE",
      "--json",
      "-v, --verbose",
      "--version",
      "ZAVUDEV_API_KEY",
      "ZAVUDEV_BASE_URL",
      "ZAVUDEV_LOG=debug",
      "NO_COLOR",
      "130",
    } do
      assert.matches(text, out, 1, true)
    end
  end)

  it("wins over a usage error on the same line, and sends nothing", function()
    local id = S.id()
    local out, err, status = S.run("sessions delete --bogus " .. id .. " --timeout x --help")
    assert.are.equal(0, status, err)
    assert.matches("^Usage: zavu sessions delete ID%.%.%.", out)
    assert.is_true(S.untouched(id))
  end)

  it("after -- is an id, not a flag", function()
    local out, err, status = S.run("sessions delete -- --help")
    assert.are.equal(0, status, err)
    assert.are.equal("deleted session --help\n", out)
  end)

  it("--version prints the library's version and exits 0", function()
    local out, err, status = S.run("--version", { ZAVUDEV_API_KEY = "" })
    assert.are.equal(0, status, err)
    local zavu = require "zavu"
    assert.matches("^zavu " .. zavu.VERSION:gsub("%p", "%%%0") .. " %(zavu%-lua; [^;]+; libcurl ", out)
  end)
end)
