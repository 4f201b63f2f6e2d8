-- zavu sessions prune: what matches is shown before anything is deleted; on
-- a terminal it asks (both answers), off one it needs --yes.
local H = require "spec.helper" -- luacheck: ignore 211
local S = require "spec.cli.support"

-- A key with 2 old failed, 1 old disconnected, 2 new failed and 1 ready session.
local function world()
  local key = S.key()
  S.seed(key, 2, { status = "failed", createdAt = "2020-01-01T00:00:00Z" })
  S.seed(key, 1, { status = "disconnected", createdAt = "2020-01-01T00:00:00Z" })
  S.seed(key, 2, { status = "failed" })
  S.seed(key, 1, { status = "ready", createdAt = "2020-01-01T00:00:00Z" })
  return key
end

local function statuses(key)
  local n = {}
  for _, s in ipairs(S.sessions(key)) do
    n[s.status] = (n[s.status] or 0) + 1
  end
  return n
end

describe("zavu sessions prune", function()
  it("--dry-run shows what matches and deletes nothing", function()
    local key = world()
    local out, err, status = S.run_as(key, "sessions prune --status failed,disconnected --older-than 7d --dry-run")
    assert.are.equal(0, status, err)
    local _, rows = out:gsub("\n%S+ +[Ss]eed%a* %d +%a+ ", "")
    assert.are.equal(3, rows)
    assert.matches("3 sessions would be deleted", err, 1, true)
    assert.are.same({ failed = 4, disconnected = 1, ready = 1 }, statuses(key))
    local s = S.json((S.run_as(key, "sessions prune --status failed --dry-run --json")))
    assert.is_true(s.dry_run)
    assert.are.equal(4, #s.matched)
    assert.are.same({}, s.deleted)
  end)

  it("--yes deletes what matches, and only that, with a summary", function()
    local key = world()
    local out, err, status = S.run_as(key, "sessions prune --status failed --older-than 30d --yes --json")
    assert.are.equal(0, status, err)
    local s = S.json(out)
    assert.is_true(s.ok)
    assert.is_false(s.dry_run)
    assert.are.equal(2, #s.deleted)
    assert.are.equal(2, #s.matched)
    assert.are.same({ failed = 2, disconnected = 1, ready = 1 }, statuses(key))
  end)

  it("on a terminal, shows the sessions and asks: no deletes nothing (exit 1)", function()
    local key = world()
    local out, status = S.run_tty("sessions prune --status disconnected", 80, 24, { ZAVUDEV_API_KEY = key }, "n\n")
    assert.are.equal(1, status, out)
    assert.matches("[Ss]eed%a* 1 +.*disconnected", out)
    assert.matches("Delete this session? [y/N]", out, 1, true)
    assert.matches("nothing deleted", out, 1, true)
    assert.are.same({ failed = 4, disconnected = 1, ready = 1 }, statuses(key))
  end)

  it("on a terminal, shows the sessions and asks: yes deletes them (exit 0)", function()
    local key = world()
    local out, status = S.run_tty("sessions prune --status failed", 80, 24, { ZAVUDEV_API_KEY = key }, "y\n")
    assert.are.equal(0, status, out)
    assert.matches("Delete these 4 sessions? [y/N]", out, 1, true)
    assert.matches("deleted 4 of 4 sessions", out, 1, true)
    assert.are.same({ disconnected = 1, ready = 1 }, statuses(key))
  end)

  it("exits 0 with nothing to do when nothing matches", function()
    local key = world()
    local out, err, status = S.run_as(key, "sessions prune --status qr_ready --yes")
    assert.are.equal(0, status, err)
    assert.are.equal("", out)
    assert.matches("no sessions match", err, 1, true)
  end)

  it("off a terminal without --yes: exit 2 before anything is sent", function()
    local key = world()
    local _, err, status = S.run_as(key, "sessions prune --status failed")
    assert.are.equal(2, status)
    assert.matches("add --yes", err, 1, true)
    assert.are.same({ failed = 4, disconnected = 1, ready = 1 }, statuses(key))
  end)
end)
