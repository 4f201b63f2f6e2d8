-- Loaded by busted before the specs (.busted's helper): each spec gets a
-- time bound, so a hang (a mutant that sleeps an hour, a server that never
-- answers) fails in seconds with the spec's name instead of stalling CI.
local busted = require "busted"
local kit = require "zavu_testkit"

local BOUND = tonumber(os.getenv("ZAVU_SPEC_BOUND")) or 60

busted.subscribe({ "test", "start" }, function(element)
  kit.alarm(BOUND, tostring(element.name))
  return nil, true
end)
busted.subscribe({ "test", "end" }, function()
  kit.alarm(0)
  return nil, true
end)
