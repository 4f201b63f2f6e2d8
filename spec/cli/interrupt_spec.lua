-- Ctrl-C: a SIGINT while a delete is in flight ends the command within half
-- a second, exit 130, saying what was done and what was not, no traceback.
local H = require "spec.helper"
local S = require "spec.cli.support"
local socket = require "socket"

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- Start `zavu <args>` in the background with SIGINT at its default (as
-- from a terminal: a shell's & would ignore it); returns its files.
local function start(args, env)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. dir))
  local cmd = ("env --default-signal=INT %s %s %s >%s/out 2>%s/err & echo $! >%s/pid; wait $!; echo $? >%s/rc"):format(
    S.prefix(env),
    S.zavu,
    args,
    dir,
    dir,
    dir,
    dir
  )
  os.execute("sh -c " .. S.q(cmd) .. " >/dev/null 2>&1 &")
  return dir
end

local function wait_for(cond, secs)
  local deadline = H.now() + secs
  while H.now() < deadline do
    local v = cond()
    if v then return v end
    socket.sleep(0.01)
  end
end

-- Once ready(dir) is true (by default: the mock has seen the id `ready`),
-- SIGINT; returns out, err, status and the seconds it took to end.
local function interrupt(args, ready, env)
  local dir = start(args, env)
  if type(ready) == "string" then
    local id = ready
    ready = function() return H.info(id).hits end
  end
  assert(wait_for(function() return ready(dir) end, 10), "the command never got there")
  local pid = assert(wait_for(function() return tonumber(read(dir .. "/pid") or "") end, 5))
  socket.sleep(0.05)
  local t0 = H.now()
  os.execute("kill -INT " .. pid)
  local rc = wait_for(function() return tonumber(read(dir .. "/rc") or "") end, 10)
  local took = H.now() - t0
  local out, err = read(dir .. "/out"), read(dir .. "/err")
  os.execute("rm -rf " .. dir)
  return out, err, rc, took
end

describe("zavu and Ctrl-C", function()
  it("ends a slow delete within 0.5 s with exit 130, saying it was not confirmed", function()
    local id = S.id("slow-8000")
    local out, err, status, took = interrupt("sessions delete " .. id, id)
    assert.are.equal(130, status, err)
    assert.is_true(took < 0.5, ("took %.3f s"):format(took))
    assert.are.equal("", out)
    assert.matches("interrupted: 0 deleted, 1 not deleted: " .. id, err, 1, true)
    assert.not_matches("traceback", err)
  end)

  it("ends a batch within 0.5 s, naming what was deleted and what was not", function()
    local tag = H.nonce()
    local fast, slow = "fast-" .. tag, { "slow-8000-" .. tag .. "-1", "slow-8000-" .. tag .. "-2" }
    local out, err, status, took =
      interrupt(("sessions delete --json %s %s %s"):format(fast, slow[1], slow[2]), slow[2])
    assert.are.equal(130, status, err)
    assert.is_true(took < 0.5, ("took %.3f s"):format(took))
    local summary = S.json(out)
    assert.are.same({ fast }, summary.deleted)
    assert.are.equal(2, #summary.failed)
    for _, f in ipairs(summary.failed) do
      assert.are.equal("cancelled", f.error.code)
    end
    assert.matches("interrupted: 1 deleted, 2 not deleted: " .. slow[1] .. " " .. slow[2], err, 1, true)
    assert.not_matches("traceback", err)
  end)

  it("ends create --wait within 0.5 s, naming the session that is not ready", function()
    local out, err, status, took = interrupt("sessions create --name auto-100000 --wait --interval 0.2", function(dir)
      local text = read(dir .. "/err") or ""
      local id = text:match("created session (%S+);")
      return id and (H.info(id).hits or 0) >= 2 -- created, and polled once
    end, { ZAVUDEV_API_KEY = S.key() })
    assert.are.equal(130, status, err)
    assert.is_true(took < 0.5, ("took %.3f s"):format(took))
    assert.are.equal("", out)
    local id = err:match("created session (%S+);")
    assert.matches("interrupted: session " .. id .. " is not ready", err, 1, true)
    assert.matches("zavu sessions delete " .. id, err, 1, true)
    assert.not_matches("traceback", err)
  end)

  it("ends a send in flight within 0.5 s, exit 130, naming its key to send it again safely", function()
    local to = S.id("slow-8000")
    local out, err, status, took = interrupt("messages send --text x --to " .. to, to)
    assert.are.equal(130, status, err)
    assert.is_true(took < 0.5, ("took %.3f s"):format(took))
    assert.are.equal("", out)
    assert.matches("^zavu: sending to " .. to:gsub("%p", "%%%0") .. ": cancelled: ", err)
    assert.matches('"idempotencyKey":"' .. H.mock_last_body(to).idempotencyKey .. '"', err, 1, true)
    assert.not_matches("traceback", err)
  end)

  it("ends any call in flight within 0.5 s: a slow get", function()
    local id = S.id("slow-8000")
    local out, err, status, took = interrupt("sessions get " .. id, id)
    assert.are.equal(130, status, err)
    assert.is_true(took < 0.5, ("took %.3f s"):format(took))
    assert.are.equal("", out)
    assert.matches("^zavu: session " .. id:gsub("%p", "%%%0") .. ": cancelled: ", err)
    assert.not_matches("traceback", err)
  end)
end)
