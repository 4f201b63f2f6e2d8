-- What reaches a terminal: a progress bar fitted to its width (and none
-- off a terminal), colour only on a terminal and never with NO_COLOR.
local H = require "spec.helper"
local S = require "spec.cli.support"

local function ids(n, prefix)
  local tag, list = H.nonce(), {}
  for i = 1, n do
    list[i] = (prefix or "bar") .. "-" .. tag .. "-" .. i
  end
  return list
end

-- The pieces a terminal shows between carriage returns, escapes removed.
local function frames(out)
  local list = {}
  for piece in (out:gsub("\27%[[%d;]*[A-Za-z]", "") .. "\r"):gmatch("([^\r\n]*)[\r\n]") do
    if piece ~= "" then list[#list + 1] = piece end
  end
  return list
end

describe("zavu on a terminal", function()
  it("draws the progress bar of a batch within 40 columns", function()
    local list = ids(10, "slow-20")
    local out, status = S.run_tty("sessions delete --concurrency 2 " .. table.concat(list, " "), 40)
    assert.are.equal(0, status, out)
    local bars = 0
    for _, f in ipairs(frames(out)) do
      assert.is_true(#f <= 39, "wider than the terminal: " .. f)
      if f:match("^%[[# ]+%] %d+/10$") then
        bars = bars + 1
        assert.are.equal(39, #f, f)
      end
    end
    assert.is_true(bars >= 3, out)
    assert.matches("\r[" .. string.rep("#", 31) .. "] 10/10", out, 1, true)
    assert.matches("deleted 10 of 10 sessions", out, 1, true)
  end)

  it("fits the bar to a wider terminal too", function()
    local out, status = S.run_tty("sessions delete " .. table.concat(ids(3), " "), 100)
    assert.are.equal(0, status, out)
    assert.matches("\r[" .. string.rep("#", 93) .. "] 3/3", out, 1, true)
  end)

  it("takes COLUMNS over the terminal's own width", function()
    local out, status = S.run_tty("sessions delete " .. table.concat(ids(3), " "), 100, 24, { COLUMNS = "30" })
    assert.are.equal(0, status, out)
    assert.matches("\r[" .. string.rep("#", 23) .. "] 3/3", out, 1, true)
  end)

  it("draws no bar when stderr is not a terminal", function()
    local out, err, status = S.run("sessions delete " .. table.concat(ids(5), " "))
    assert.are.equal(0, status, err)
    assert.are.equal("deleted 5 of 5 sessions\n", out)
    assert.are.equal("", err)
  end)

  it("colours an error on a terminal, never with NO_COLOR, never off a terminal", function()
    local out = S.run_tty("sessions delete " .. S.id("missing"), 80)
    assert.matches("\27[31mzavu: \27[0m", out, 1, true)
    out = S.run_tty("sessions delete " .. S.id("missing"), 80, 24, { NO_COLOR = "1" })
    assert.not_matches("\27[", out, 1, true)
    local _, err = S.run("sessions delete " .. S.id("missing"))
    assert.not_matches("\27[", err, 1, true)
  end)

  it("shows text from the API with its control characters escaped", function()
    local _, err, status = S.run("sessions delete " .. S.id("echo"))
    assert.are.equal(1, status)
    assert.not_matches("[\27\r]", err)
    local _, lines = err:gsub("\n", "")
    assert.are.equal(1, lines)
  end)
end)
