-- bench/webhooks.lua: zavu.webhooks.verify for make bench, beside the floor
-- in bench/raw_webhook.c (libcrypto's HMAC-SHA256 + one lua-cjson decode).
--   webhooks.lua body SIZE           -> a message.inbound envelope of SIZE bytes
--   webhooks.lua sign FILE T SECRET  -> its X-Zavu-Signature (v2) at T
--   webhooks.lua verify FILE N T SECRET
--       N verifications of FILE, as a caller writes them (a fresh options
--       table each call); raises if one fails.
local what = arg[1]

-- The contract's 1:1 inbound example (webhooks.md, 5.1), its text grown to
-- the size asked: words, punctuation, a quoted word, a line break and an
-- escaped accent, as a long message carries them.
local function envelope(size)
  local head = '{"id":"evt_1736850000000_abc123","type":"message.inbound","timestamp":1736850000000,'
    .. '"senderId":"sender_12345","projectId":"proj_abc","data":{"messageId":"jx77aa",'
    .. '"conversationId":"conv_9f8e7d","to":"+13125551212","from":"+14155551234",'
    .. '"channel":"whatsapp_alt","messageType":"text","status":"received",'
    .. '"providerTimestamp":1736849999000,"text":"'
  local tail = '"}}'
  local line = 'Hi there, the order \\"A-1042\\" left the caf\\u00e9 at 10:42; see you soon.\\n'
  local room = size - #head - #tail
  return head .. line:rep(math.floor(room / #line)) .. ("."):rep(room % #line) .. tail
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

if what == "body" then
  local body = envelope(tonumber(arg[2]))
  assert(require("cjson").decode(body).data.text)
  io.write(body)
elseif what == "sign" then
  local webhooks = require("zavu").webhooks
  io.write(webhooks.sign(read(arg[2]), arg[4], { t = tonumber(arg[3]) }))
elseif what == "verify" then
  local verify = require("zavu").webhooks.verify
  local body, n, t, secret = read(arg[2]), tonumber(arg[3]), tonumber(arg[4]), arg[5]
  local header = require("zavu").webhooks.sign(body, secret, { t = t })
  for _ = 1, n do
    local event, err = verify(body, header, secret, { tolerance = 300, now = t })
    if not event then error(err.message) end
  end
else
  error("usage: webhooks.lua body SIZE | sign FILE T SECRET | verify FILE N T SECRET")
end
