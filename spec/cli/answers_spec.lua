-- The command when the API's listing holds a JSON null where an item belongs:
-- an invalid_response reported on one line (exit 1), never a Lua error, and
-- nothing deleted.
local H = require "spec.helper"
local S = require "spec.cli.support"

describe("zavu with a listing whose items hold a JSON null", function()
  it("reports invalid_response for sessions list, prune and egress-nodes list, deleting nothing", function()
    local key, victim = S.key(), S.id("victim")
    H.mock_answer(key, ('{"items": [null, {"id": "%s", "status": "ready"}]}'):format(victim))
    for _, args in ipairs {
      "sessions list",
      "sessions list --json",
      "sessions prune --status ready --dry-run",
      "sessions prune --status ready --yes",
      "egress-nodes list --sender snd_1",
    } do
      local out, err, status = S.run_as(key, args)
      assert.are.equal(1, status, args .. ": " .. err)
      assert.is_nil(err:find("attempt to index", 1, true), args .. ": " .. err)
      assert.is_nil(err:find("internal error", 1, true), args .. ": " .. err)
      if args:find("--json", 1, true) then -- the error as JSON, on stdout
        local e = S.json(out).error
        assert.are.equal("invalid_response", e.code)
        assert.matches("item 1 that is null", e.message, 1, true)
      else
        assert.matches("invalid_response", err, 1, true)
        assert.matches("item 1 that is null", err, 1, true)
        assert.are.equal("", out, args)
      end
    end
    assert.is_true(S.untouched(victim))
  end)
end)
