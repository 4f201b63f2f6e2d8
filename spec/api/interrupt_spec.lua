-- Ctrl-C in a plain `lua script.lua` that never called catch_interrupt():
-- the call in flight ends at once and the script stops the way Lua stops on
-- Ctrl-C in Lua code ("interrupted!", exit status 1), on every interpreter.
local H = require "spec.helper"
local socket = require "socket"

-- Within half a second is the promise (a few ms in practice); the bound is
-- wide, to tell a stopped script from one that runs its call to the end
-- (8 s and more here) on a loaded machine, and wider under the sanitizers.
local BOUND = os.getenv("ZAVU_UNDER_ASAN") and 4 or 1.5

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function wait_for(cond, secs)
  local deadline = H.now() + secs
  while H.now() < deadline do
    local v = cond()
    if v then return v end
    socket.sleep(0.01)
  end
end

-- Run `code` in a plain interpreter of the kind under test, SIGINT at its
-- default as from a terminal; once the mock has seen `id`, Ctrl-C. Returns
-- stdout, stderr, the exit status and the seconds from SIGINT to exit.
local function interrupt(code, id)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. dir))
  local file = dir .. "/script.lua"
  local f = assert(io.open(file, "w"))
  f:write(([[
    package.path = %q .. "/lua/?.lua;" .. %q .. "/lua/?/init.lua;" .. package.path
    local zavu = require "zavu"
    local c = zavu.new { api_key = %q, base_url = %q }
  ]]):format(H.root, H.root, H.key, H.http_url) .. code .. '\nprint("the script went on")\n')
  f:close()
  local cmd = (
    "env --default-signal=INT %s %s >%s/out 2>%s/err & echo $! >%s/pid; wait $!; echo $? >%s/rc; "
    .. "date +%%s.%%N >%s/ended"
  ):format(H.lua, file, dir, dir, dir, dir, dir)
  os.execute("sh -c '" .. cmd .. "' >/dev/null 2>&1 &")
  assert(wait_for(function() return (H.info(id).hits or 0) >= 1 end, 10), "the call never reached the mock")
  local pid = assert(wait_for(function() return tonumber(read(dir .. "/pid") or "") end, 5))
  socket.sleep(0.1) -- well inside the call
  local t0 = H.now()
  os.execute("kill -INT " .. pid)
  local ended = wait_for(function() return tonumber(read(dir .. "/ended") or "") end, 20)
  local out, err, rc = read(dir .. "/out"), read(dir .. "/err"), tonumber(read(dir .. "/rc") or "")
  os.execute("rm -rf " .. dir)
  assert(ended, "the script did not end: " .. tostring(err))
  return out, err, rc, ended - t0
end

local function stopped_as_lua_does(out, err, rc, took)
  assert.are.equal(1, rc, err)
  assert.matches("interrupted!", err, 1, true)
  assert.not_matches("the script went on", out, 1, true)
  assert.is_true(took < BOUND, ("took %.3f s after SIGINT"):format(took))
end

describe("Ctrl-C in a plain interpreter, without catch_interrupt", function()
  it("stops a script in a delete against a slow server", function()
    local id = "slow-8000-" .. H.nonce()
    stopped_as_lua_does(interrupt(("c.sessions.delete(%q, { timeout = 30 })"):format(id), id))
  end)

  it("stops a script in a get (and its retries)", function()
    local id = "slow-8000-" .. H.nonce()
    stopped_as_lua_does(interrupt(("c.sessions.get(%q, { timeout = 30, max_retries = 3 })"):format(id), id))
  end)

  it("stops a script in a delete_many", function()
    local tag = H.nonce()
    local ids = { "slow-8000-1-" .. tag, "slow-8000-2-" .. tag }
    stopped_as_lua_does(interrupt(("c.sessions.delete_many({ %q, %q })"):format(ids[1], ids[2]), ids[2]))
  end)

  it("stops a script in wait's sleep between two polls", function()
    local id = "slow-1-" .. H.nonce() -- answers at once, a session that stays initializing
    stopped_as_lua_does(interrupt(("c.sessions.wait(%q, { interval = 8, timeout = 30 })"):format(id), id))
  end)

  it("leaves a Ctrl-C outside any call to Lua, as before", function()
    local id = "slow-1-" .. H.nonce()
    stopped_as_lua_does(interrupt(("c.sessions.get(%q); if jit then jit.off() end; while true do end"):format(id), id))
  end)
end)
