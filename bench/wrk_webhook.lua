-- bench/wrk_webhook.lua: wrk's requests for the webhook receiver's figures.
--   wrk -s bench/wrk_webhook.lua URL -- BODY_FILE SECRET NONCE
-- Every request is a delivery Zavu could send: the body of BODY_FILE (made
-- by bench/webhooks.lua) under an event id of the same length that no other
-- request of any run has (NONCE: one per wrk run; each thread its own),
-- signed v2 at the current second with this module's sign. The same requests
-- go to the empty handler, so the client's work is the same on both sides
-- of a ratio.
local core = require "zavu.core"

local template, secret, nonce
local sent = 0

local threads = 0
function setup(thread) -- in wrk's main state: number the threads
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  template = f:read("*a")
  f:close()
  secret, nonce = args[2], tonumber(args[3]) * 100 + thread_number
  assert(template:find('"id":"evt_1736850000000_abc123"', 1, true), "the body has no id to replace")
end

function request()
  sent = sent + 1
  -- "evt_" 13 digits "_" 6 hex digits, as long as the template's id
  local id = ("evt_%013d_%06x"):format(nonce, sent)
  local body = template:gsub("evt_1736850000000_abc123", id, 1)
  local header = core.webhook_sign(body, secret, os.time(), "v2")
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["X-Zavu-Signature"] = header }, body)
end
