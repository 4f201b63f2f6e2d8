-- Exit status 130 after Ctrl-C, from each of the two places that give it:
-- zavu.cli.status_of (an error reported after a Ctrl-C, or a cancelled one)
-- and the end of zavu.cli.main (a command that finished its work anyway).
-- The specs of interrupt_spec.lua go through both at once, so a bug in
-- either alone goes unseen there. Here a SIGINT lands at a chosen point of
-- `zavu sessions get`, run in a child interpreter through zavu.cli.main.
local H = require "spec.helper"

-- Run `zavu sessions get <id>` with `before` and `after` (Lua statements)
-- around its handler; returns the output and the exit status.
local function get_with(id, before, after)
  return H.run_lua(
    ([[
      package.path = %q .. "/lua/?.lua;" .. %q .. "/lua/?/init.lua;" .. package.path
      local kit = require "zavu_testkit"
      local sessions = require "zavu.cli.sessions"
      local get = sessions.get
      sessions.get = function(ctx)
        %s
        local status = get(ctx)
        %s
        return status
      end
      io.stdout:setvbuf("no")
      os.exit(require("zavu.cli").main { "sessions", "get", %q })
    ]]):format(H.root, H.root, before, after, id),
    { ZAVUDEV_API_KEY = H.key, ZAVUDEV_BASE_URL = H.http_url }
  )
end

describe("zavu's exit status after Ctrl-C", function()
  it("is 130 when the command ends on the error of a call it could not start (status_of)", function()
    local id = "cli-" .. H.nonce()
    local out, status = get_with(id, "kit.interrupt()", "")
    assert.are.equal(130, status, out)
    assert.matches("cancelled", out)
    assert.is_nil(H.info(id).hits, "nothing sent after the Ctrl-C")
  end)

  it("is 130 when the Ctrl-C came after the call had done its work (the end of main)", function()
    local id = "slow-10-" .. H.nonce() -- a session the mock answers
    local out, status = get_with(id, "", "kit.interrupt()")
    assert.are.equal(130, status, out)
    assert.matches(id, out, 1, true)
    assert.are.equal(1, H.info(id).hits)
  end)

  it("is 130 for a cancelled error, and for any error once Ctrl-C was pressed", function()
    local out, status = H.run_lua(([[
      package.path = %q .. "/lua/?.lua;" .. %q .. "/lua/?/init.lua;" .. package.path
      local cli, core = require "zavu.cli", require "zavu.core"
      local before = cli.status_of(core, { code = "cancelled" })
      local plain = cli.status_of(core, { code = "server_error", attempts = 1 })
      core.catch_interrupt()
      require("zavu_testkit").interrupt()
      print(before, plain, cli.status_of(core, { code = "server_error", attempts = 1 }))
    ]]):format(H.root, H.root))
    assert.are.equal(0, status, out)
    assert.matches("^130\t1\t130", out)
  end)
end)
