-- Text a server sent never reaches the terminal raw: C1 controls (U+0080 to
-- U+009F; U+009B is a CSI on many terminals), bidirectional overrides and
-- isolates (U+202A-U+202E, U+2066-U+2069), C0 controls, and bytes that are
-- not UTF-8 are shown escaped in the plain and table output, and written as
-- \u escapes by --json, whose JSON still reads back as what was sent.
local S = require "spec.cli.support"

local CSI, NEL = "\194\155", "\194\133" -- U+009B, U+0085
local LRE, RLO = "\226\128\170", "\226\128\174" -- U+202A, U+202E
local LRI, PDI = "\226\129\166", "\226\129\169" -- U+2066, U+2069

local NAME = "shop" .. CSI .. "31m" .. RLO .. "gpj.exe" .. LRI .. "x" .. PDI .. NEL .. LRE
local NAME_SHOWN = "shop\\u009B31m\\u202Egpj.exe\\u2066x\\u2069\\u0085\\u202A"
local NAME_JSON = "shop\\u009b31m\\u202egpj.exe\\u2066x\\u2069\\u0085\\u202a"

-- Whether text holds a C1 control or a bidi override or isolate, raw.
local function raw(text)
  return text:find("\194[\128-\159]") or text:find("\226\128[\170-\174]") or text:find("\226\129[\166-\169]")
end

local function no_raw(text, what)
  local at = raw(text)
  assert.is_nil(at, ("%s: raw at byte %s: %q"):format(what, tostring(at), text))
end

-- A session of a fresh key, named NAME, with more text from the server:
-- a lastError, and a field whose name and value carry controls too.
local function session()
  local key = S.key()
  local out, err, status = S.run_as(key, "sessions create --json --name " .. S.q(NAME))
  assert.are.equal(0, status, err)
  local id = S.json(out).id
  S.set_state(id, {
    status = "failed",
    lastError = "phone" .. CSI .. "2J" .. RLO .. "offline",
    ["note" .. RLO .. "\27[2J"] = "v" .. CSI .. "0m",
  })
  return key, id
end

describe("zavu and text from the server", function()
  it("fields: every value and every key escaped", function()
    local key, id = session()
    local out, err, status = S.run_as(key, "sessions get " .. id)
    assert.are.equal(0, status, err)
    no_raw(out, "sessions get")
    assert.matches("\ndisplayName: +" .. NAME_SHOWN:gsub("%p", "%%%0") .. "\n", out)
    assert.matches("\nlastError: +phone\\u009B2J\\u202Eoffline\n", out)
    assert.matches("\nnote\\u202E\\x1B%[2J: +v\\u009B0m\n", out)
  end)

  it("the table, off a terminal and fitted to one", function()
    local key = session()
    local out, err, status = S.run_as(key, "sessions list")
    assert.are.equal(0, status, err)
    no_raw(out, "sessions list")
    assert.matches(NAME_SHOWN, out, 1, true)
    local shown
    shown, status = S.run_tty("sessions list", 200, 24, { ZAVUDEV_API_KEY = key })
    assert.are.equal(0, status, shown)
    no_raw(shown, "sessions list on a terminal")
    assert.matches(NAME_SHOWN, shown, 1, true)
  end)

  it("--json: \\u escapes, and the JSON reads back as what the server sent", function()
    local key, id = session()
    for _, args in ipairs { "sessions get --json " .. id, "sessions list --json" } do
      local out, err, status = S.run_as(key, args)
      assert.are.equal(0, status, err)
      no_raw(out, args)
      assert.matches(NAME_JSON, out, 1, true)
      local s = S.json(out)
      s = s[1] or s
      assert.are.equal(NAME, s.displayName)
      assert.are.equal("v" .. CSI .. "0m", s["note" .. RLO .. "\27[2J"])
    end
  end)

  it("an error's details, on stderr and with --json", function()
    local sender = "snd" .. CSI .. "1m" .. RLO
    local id = S.id "echo" -- the mock answers 418 with the request as details
    local out, err, status = S.run("--json sessions link " .. id .. " " .. S.q(sender))
    assert.are.equal(1, status, err)
    no_raw(err, "stderr")
    no_raw(out, "--json")
    assert.matches("snd\\u009b1m\\u202e", err, 1, true) -- in the details' JSON
    local e = S.json(out).error
    assert.are.equal("echo", e.code)
    assert.matches(sender, e.details.body, 1, true)
  end)

  it("bytes that are not UTF-8: \\xNN shown, \\ufffd in JSON that still parses", function()
    local key, id = session()
    S.set_state(id, { displayName = "bad\255" .. "\155end\237\160\128" })
    local out, err, status = S.run_as(key, "sessions get " .. id)
    assert.are.equal(0, status, err)
    assert.matches("\ndisplayName: +bad\\xFF\\x9Bend\\xED\\xA0\\x80\n", out)
    assert.is_nil(out:find("[\128-\255]"), out)
    out = S.run_as(key, "sessions get --json " .. id)
    assert.matches('"displayName":"bad\\ufffd\\ufffdend\\ufffd\\ufffd\\ufffd"', out, 1, true)
    assert.are.equal("bad\239\191\189\239\191\189end\239\191\189\239\191\189\239\191\189", S.json(out).displayName)
  end)
end)
