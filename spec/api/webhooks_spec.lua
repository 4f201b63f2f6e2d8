-- zavu.webhooks: the contract's test vectors (../shared/api/webhooks.md,
-- section 10) and their negative checks, round trips for each scheme, every
-- error code, lists of secrets, require_v2, both edges of the window, the
-- tool-call variant, and misuse raised at the caller's line.
local zavu = require "zavu"
local webhooks = zavu.webhooks

-- Vector 1: inbound 1:1 on whatsapp_alt, signed v1+v2.
local S1, T1 = "whsec_test_secret_1", 1736850000
local B1 = '{"id":"evt_1736850000000_abc123","type":"message.inbound","timestamp":1736850000000,'
  .. '"senderId":"sender_12345","projectId":"proj_abc","data":{"messageId":"jx77aa","to":"+13125551212",'
  .. '"from":"+14155551234","channel":"whatsapp_alt","messageType":"text","text":"Hi there",'
  .. '"status":"received","providerTimestamp":1736849999000}}'
local V1_1 = "3f6be952398723c0b5e503407d7ed9f3cac3ba78443784757759b7cd91bc5de5"
local V2_1 = "85145ca8ccd890d40df8f1c5ef2234b0f556ebe47a2f58b9b901d2d612dae4c4"
local H1 = "t=1736850000,v1=" .. V1_1 .. ",v2=" .. V2_1

-- Vector 2: a group message with raw UTF-8 (U+00A1, U+00ED, U+2705), signed v2.
local S2, T2 = "whsec_test_secret_2", 1736850060
local B2 = '{"id":"evt_1736850060000_grp001","type":"message.inbound","timestamp":1736850060000,'
  .. '"senderId":"sender_12345","projectId":"proj_abc","data":{"messageId":"jx77bb","channel":"whatsapp_alt",'
  .. '"from":"+14155551234","to":"+13125551212","messageType":"text","text":"Anyone free at 3pm? '
  .. "\194\161S\195\173! \226\156\133"
  .. '","isGroup":true,"groupId":"120363000000000000@g.us","groupAuthor":"+14155551234",'
  .. '"groupName":"Weekend Trip"}}'
local H2 = "t=1736850060,v2=a02b86a8540469cfe3a0f2f23f92e06fa4d2a6cd53d3e6615a888f3c6d469702"

-- Vector 3: a story (message.status), a secret without prefix, signed v1.
local S3, T3 = "s3cr3t", 1700000000
local B3 = '{"id":"evt_1700000000000_sts001","type":"message.status","timestamp":1700000000000,'
  .. '"senderId":"sender_12345","projectId":"proj_abc","data":{"messageId":"jx77cc","channel":"whatsapp_alt",'
  .. '"from":"+14155551234","to":"+13125551212","messageType":"image","text":"At the beach",'
  .. '"mimetype":"image/jpeg","providerTimestamp":1699999999000}}'
local H3 = "t=1700000000,v1=7ed75ba2bca0e48e1a2b7b53f900348fa0f57662d30313d75546491cef3b4c34"

-- The tool-call vector.
local TOOL_SECRET = "tool_secret_abc"
local TOOL_BODY = '{"tool":"get_order_status","arguments":{"orderId":"ORD-12345"},"timestamp":1786113454812}'
local TOOL_SIG = "2b7cb942a27efbe81d296c294e50f3fdb9e5a8fa43b198bf7e2b4340898c16e6"
local TOOL_NOW = 1786113454

local function at(now, extra)
  local o = { now = now }
  for k, v in pairs(extra or {}) do
    o[k] = v
  end
  return o
end

-- The error, checked to be a zavu error table with this code, whose text
-- holds none of the secrets.
local function refused_hiding(secrets, code, event, err)
  assert.is_nil(event)
  assert.is_true(zavu.is_error(err), "not an error table: " .. tostring(err))
  assert.are.equal(code, err.code, tostring(err))
  assert.are.equal(zavu.error_mt, getmetatable(err))
  assert.is_string(err.message)
  assert.matches("^zavu: " .. code .. ": ", tostring(err))
  for _, s in ipairs(secrets or {}) do
    assert.is_nil(tostring(err):find(s, 1, true), "the secret is in the message")
  end
  return err
end
local function refused(code, event, err) return refused_hiding({}, code, event, err) end

describe("zavu.webhooks.verify, the contract's vectors", function()
  it("copies the vectors byte for byte", function()
    assert.are.equal(323, #B1)
    assert.are.equal(398, #B2)
    assert.are.equal(331, #B3)
    assert.are.equal(89, #TOOL_BODY)
  end)

  it("verifies vector 1 (v1+v2) by its v2, and decodes the envelope", function()
    local event, err = webhooks.verify(B1, H1, S1, at(T1))
    assert.is_nil(err)
    assert.are.equal("v2", event.scheme)
    assert.are.equal("evt_1736850000000_abc123", event.id)
    assert.are.equal("message.inbound", event.type)
    assert.are.equal(1736850000000, event.timestamp)
    assert.are.equal("sender_12345", event.senderId)
    assert.are.equal("proj_abc", event.projectId)
    assert.are.equal("Hi there", event.data.text)
    assert.are.equal("+14155551234", event.data.from)
  end)

  it("verifies vector 2 (v2 only, raw UTF-8) and keeps the text's bytes", function()
    local event, err = webhooks.verify(B2, H2, S2, at(T2))
    assert.is_nil(err)
    assert.are.equal("v2", event.scheme)
    assert.are.equal("Anyone free at 3pm? \194\161S\195\173! \226\156\133", event.data.text)
    assert.is_true(event.data.isGroup)
    assert.are.equal("120363000000000000@g.us", event.data.groupId)
    assert.are.equal("Weekend Trip", event.data.groupName)
  end)

  it("verifies vector 3 (v1 only, a secret without prefix)", function()
    local event, err = webhooks.verify(B3, H3, S3, at(T3))
    assert.is_nil(err)
    assert.are.equal("v1", event.scheme)
    assert.are.equal("message.status", event.type)
    assert.are.equal("image/jpeg", event.data.mimetype)
  end)

  it("signs each vector to the contract's header", function()
    assert.are.equal(H1, webhooks.sign(B1, S1, { t = T1, scheme = "v1+v2" }))
    assert.are.equal(H2, webhooks.sign(B2, S2, { t = T2, scheme = "v2" }))
    assert.are.equal(H3, webhooks.sign(B3, S3, { t = T3, scheme = "v1" }))
    assert.are.equal(H2, webhooks.sign(B2, S2, { t = T2 })) -- v2 by default
  end)

  it("refuses v2 computed over the body alone (the v1 value after v2=)", function()
    local h = "t=1736850000,v1=" .. V1_1 .. ",v2=" .. V1_1
    refused("signature_mismatch", webhooks.verify(B1, h, S1, at(T1)))
    refused("signature_mismatch", webhooks.verify(B1, "t=1736850000,v2=" .. V1_1, S1, at(T1)))
  end)

  it(
    "refuses vector 1 under another secret",
    function() refused_hiding({ S2, S1 }, "signature_mismatch", webhooks.verify(B1, H1, S2, at(T1))) end
  )

  it("refuses vector 1's body with one byte changed", function()
    local changed = B1:gsub("Hi there", "Hi therE")
    refused("signature_mismatch", webhooks.verify(changed, H1, S1, at(T1)))
    refused("signature_mismatch", webhooks.verify(changed, "t=1736850000,v1=" .. V1_1, S1, at(T1)))
  end)

  it("refuses t=1736850001 with the original v2: v2 covers t", function()
    local h = "t=1736850001,v2=" .. V2_1
    refused("signature_mismatch", webhooks.verify(B1, h, S1, at(T1 + 1)))
  end)

  it("never lets v1 rescue a wrong v2 (v1 does not cover t)", function()
    -- v1 is right for this body, but the header's t is not the one signed
    local h = "t=1736850001,v1=" .. V1_1 .. ",v2=" .. V2_1
    refused("signature_mismatch", webhooks.verify(B1, h, S1, at(T1 + 1)))
    -- a right v1 beside a v2 that is wrong in one digit
    local wrong = V2_1:sub(1, -2) .. (V2_1:sub(-1) == "0" and "1" or "0")
    refused("signature_mismatch", webhooks.verify(B1, "t=1736850000,v1=" .. V1_1 .. ",v2=" .. wrong, S1, at(T1)))
  end)

  it("accepts the window's edges and refuses one second past them", function()
    assert.are.equal("v2", webhooks.verify(B1, H1, S1, at(T1 + 300)).scheme)
    refused("timestamp_out_of_range", webhooks.verify(B1, H1, S1, at(T1 + 301)))
    assert.are.equal("v2", webhooks.verify(B1, H1, S1, at(T1 - 60)).scheme)
    refused("timestamp_out_of_range", webhooks.verify(B1, H1, S1, at(T1 - 61)))
    -- v1 only: the same window
    assert.are.equal("v1", webhooks.verify(B3, H3, S3, at(T3 + 300)).scheme)
    refused("timestamp_out_of_range", webhooks.verify(B3, H3, S3, at(T3 + 300.5)))
    refused("timestamp_out_of_range", webhooks.verify(B3, H3, S3, at(T3 - 60.5)))
  end)

  it("refuses t=abc and a header with no v1 or v2", function()
    local err = refused("malformed_signature", webhooks.verify(B1, "t=abc,v2=" .. V2_1, S1, at(T1)))
    assert.matches("t=", err.message, 1, true)
    err = refused("malformed_signature", webhooks.verify(B1, "t=1736850000", S1, at(T1)))
    assert.matches("no v1= or v2=", err.message, 1, true)
    refused("malformed_signature", webhooks.verify(B1, "t=1736850000,v3=" .. V2_1, S1, at(T1)))
  end)
end)

describe("zavu.webhooks.verify, the header's grammar", function()
  it("takes items in any order, spaces and tabs around them, unknown keys and items without =", function()
    for _, h in ipairs {
      "v2=" .. V2_1 .. ",t=1736850000",
      " t = 1736850000 ,\tv2=" .. V2_1 .. "\t",
      "t=1736850000,scheme=hmac,v2=" .. V2_1 .. ",junk,x=",
      "v1=" .. V1_1 .. ", v2=" .. V2_1 .. ", t=1736850000",
    } do
      local event, err = webhooks.verify(B1, h, S1, at(T1))
      assert.is_nil(err, h)
      assert.are.equal("v2", event.scheme, h)
    end
  end)

  it("takes the hex in upper case", function()
    local event = webhooks.verify(B1, "t=1736850000,v2=" .. V2_1:upper(), S1, at(T1))
    assert.are.equal("v2", event.scheme)
    event = webhooks.verify(B3, "t=1700000000,v1=" .. H3:match("v1=(%x+)"):upper(), S3, at(T3))
    assert.are.equal("v1", event.scheme)
  end)

  it("takes several v2 values (a rotation on Zavu's side) when one matches", function()
    local other = ("ab"):rep(32)
    local event = webhooks.verify(B1, "t=1736850000,v2=" .. other .. ",v2=" .. V2_1, S1, at(T1))
    assert.are.equal("v2", event.scheme)
    refused("signature_mismatch", webhooks.verify(B1, "t=1736850000,v2=" .. other .. ",v2=" .. other, S1, at(T1)))
  end)

  it("says missing_signature for no header, an empty or a blank one", function()
    local err = refused("missing_signature", webhooks.verify(B1, nil, S1, at(T1)))
    assert.matches("no X-Zavu-Signature", err.message, 1, true)
    refused("missing_signature", webhooks.verify(B1, "", S1, at(T1)))
    refused("missing_signature", webhooks.verify(B1, " \t ", S1, at(T1)))
  end)

  it("says malformed_signature for each broken rule, naming it", function()
    local cases = {
      ["v2=" .. V2_1] = "no t=",
      ["t=1736850000,t=1736850000,v2=" .. V2_1] = "more than once",
      ["t=-1736850000,v2=" .. V2_1] = "whole number",
      ["t=1736850000.5,v2=" .. V2_1] = "whole number",
      ["t=,v2=" .. V2_1] = "whole number",
      ["t=1736850000,v2=" .. V2_1:sub(2)] = "64 hex",
      ["t=1736850000,v2=" .. V2_1 .. "00"] = "64 hex",
      ["t=1736850000,v1=" .. V1_1:sub(1, 63) .. "g"] = "64 hex",
      ["t=1736850000,v2="] = "64 hex",
      [TOOL_SIG] = "verify_tool",
      ["garbage"] = "no t=",
    }
    for h, why in pairs(cases) do
      local err = refused("malformed_signature", webhooks.verify(B1, h, S1, at(T1)))
      assert.matches(why, err.message, 1, true)
    end
    local five = "t=1736850000" .. (",v2=" .. V2_1):rep(5)
    assert.matches("more than 4", refused("malformed_signature", webhooks.verify(B1, five, S1, at(T1))).message)
  end)

  it("refuses a repeated header (the list ngx.req.get_headers gives) as malformed", function()
    local err = refused("malformed_signature", webhooks.verify(B1, { H1, H1 }, S1, at(T1)))
    assert.matches("more than once", err.message, 1, true)
    assert.are.equal("v2", webhooks.verify(B1, { H1 }, S1, at(T1)).scheme) -- a list of one is that header
  end)

  it("parses nothing before the signature matched: a bad signature on a non-JSON body is a mismatch", function()
    refused("signature_mismatch", webhooks.verify("not json", H1, S1, at(T1)))
    refused("signature_mismatch", webhooks.verify("", H1, S1, at(T1)))
  end)

  it("says invalid_json for a signed body that is not a JSON object, with a private strict decoder", function()
    for _, body in ipairs { "not json", "", "[1,2]", '"text"', '{"id":"x"', '{"n":NaN}', '{"n":0x10}' } do
      local h = webhooks.sign(body, S1, { t = T1 })
      local err = refused_hiding({ S1 }, "invalid_json", webhooks.verify(body, h, S1, at(T1)))
      assert.matches("signed", err.message, 1, true)
    end
    -- the user's cjson settings are theirs and change nothing here
    local cjson = require "cjson"
    cjson.decode_invalid_numbers(true)
    local h = webhooks.sign('{"n":NaN}', S1, { t = T1 })
    refused("invalid_json", webhooks.verify('{"n":NaN}', h, S1, at(T1)))
  end)
end)

describe("zavu.webhooks.verify, secrets and policy", function()
  it("takes a list of secrets: any one of them", function()
    assert.are.equal("v2", webhooks.verify(B1, H1, { "whsec_other", S2, S1 }, at(T1)).scheme)
    assert.are.equal("v1", webhooks.verify(B3, H3, { S3 }, at(T3)).scheme)
    local err = refused_hiding({ S2, S3 }, "signature_mismatch", webhooks.verify(B1, H1, { S2, S3 }, at(T1)))
    assert.matches("any of the secrets", err.message, 1, true)
  end)

  it("refuses a v1-only header with require_v2, and takes v2 or v1+v2", function()
    local err = refused("signature_mismatch", webhooks.verify(B3, H3, S3, at(T3, { require_v2 = true })))
    assert.matches("require_v2", err.message, 1, true)
    assert.are.equal("v2", webhooks.verify(B1, H1, S1, at(T1, { require_v2 = true })).scheme)
    assert.are.equal("v2", webhooks.verify(B2, H2, S2, at(T2, { require_v2 = true })).scheme)
    assert.are.equal("v1", webhooks.verify(B3, H3, S3, at(T3, { require_v2 = false })).scheme)
  end)

  it("takes a tolerance: the past side is it, the future side 60 s or it if less", function()
    assert.are.equal("v2", webhooks.verify(B1, H1, S1, at(T1 + 3600, { tolerance = 3600 })).scheme)
    refused("timestamp_out_of_range", webhooks.verify(B1, H1, S1, at(T1 + 3601, { tolerance = 3600 })))
    refused("timestamp_out_of_range", webhooks.verify(B1, H1, S1, at(T1 - 61, { tolerance = 3600 })))
    assert.are.equal("v2", webhooks.verify(B1, H1, S1, at(T1 + 10, { tolerance = 10 })).scheme)
    refused("timestamp_out_of_range", webhooks.verify(B1, H1, S1, at(T1 + 11, { tolerance = 10 })))
    assert.are.equal("v2", webhooks.verify(B1, H1, S1, at(T1 - 10, { tolerance = 10 })).scheme)
    refused("timestamp_out_of_range", webhooks.verify(B1, H1, S1, at(T1 - 11, { tolerance = 10 })))
    assert.are.equal("v2", webhooks.verify(B1, H1, S1, at(T1 + 1e9, { tolerance = math.huge })).scheme)
  end)

  it("checks the window before the digest, with the clock of now, else os.time()", function()
    -- a wrong secret at a stale t is out of range, as the contract's order says
    refused("timestamp_out_of_range", webhooks.verify(B1, H1, "wrong", at(T1 + 301)))
    local t = os.time()
    local h = webhooks.sign(B1, S1)
    assert.matches("^t=" .. t .. ",v2=%x+$", h)
    assert.are.equal("v2", webhooks.verify(B1, h, S1).scheme)
    refused("timestamp_out_of_range", webhooks.verify(B1, H1, S1)) -- 2025's t, today
  end)
end)

describe("zavu.webhooks.sign and verify, round trips", function()
  local bodies = { "{}", '{"id":"evt_1","type":"message.read","data":{"status":"read"}}' }
  math.randomseed(17)
  for i = 1, 20 do
    local bytes = {}
    for j = 1, math.random(0, 300) do
      bytes[j] = string.char(math.random(0x20, 0xff))
    end
    local text = table.concat(bytes):gsub('[\\"\127]', "x")
    bodies[#bodies + 1] = ('{"id":"evt_%d","type":"message.inbound","data":{"text":"%s"}}'):format(i, text)
  end
  bodies[#bodies + 1] = '{"id":"big","data":{"text":"' .. ("x"):rep(64 * 1024) .. '"}}'

  for _, scheme in ipairs { "v1", "v2", "v1+v2" } do
    it("signs and verifies every body with " .. scheme, function()
      local expected = scheme == "v1" and "v1" or "v2"
      for i, body in ipairs(bodies) do
        local t = 1700000000 + i * 7
        local h = webhooks.sign(body, "whsec_round_" .. i, { t = t, scheme = scheme })
        local n_items = select(2, h:gsub(",", ","))
        assert.are.equal(scheme == "v1+v2" and 2 or 1, n_items)
        local event, err = webhooks.verify(body, h, { "whsec_round_x", "whsec_round_" .. i }, at(t))
        assert.is_nil(err, tostring(err))
        assert.are.equal(expected, event.scheme)
        refused("signature_mismatch", webhooks.verify(body .. " ", h, "whsec_round_" .. i, at(t)))
        refused("signature_mismatch", webhooks.verify(body, h, "whsec_round_" .. i .. "x", at(t)))
      end
    end)
  end

  it("signs the exact bytes: a NUL and high bytes inside the body count", function()
    local body = '{"a":"x"}\0tail\255'
    local h = webhooks.sign(body, S1, { t = T1, scheme = "v1+v2" })
    refused("signature_mismatch", webhooks.verify('{"a":"x"}', h, S1, at(T1)))
    refused("invalid_json", webhooks.verify(body, h, S1, at(T1))) -- signed, but trailing bytes
  end)

  it("signs a secret's every byte (a NUL inside it too)", function()
    local h = webhooks.sign(B1, "a\0b", { t = T1 })
    refused("signature_mismatch", webhooks.verify(B1, h, "a", at(T1)))
    assert.are.equal("v2", webhooks.verify(B1, h, "a\0b", at(T1)).scheme)
  end)
end)

describe("zavu.webhooks.verify_tool", function()
  it("verifies the contract's tool-call vector", function()
    assert.is_true(webhooks.verify_tool(TOOL_BODY, TOOL_SIG, nil, TOOL_SECRET, { now = TOOL_NOW }))
    assert.is_true(webhooks.verify_tool(TOOL_BODY, TOOL_SIG:upper(), "1786113454812", { "x", TOOL_SECRET }, {
      now = TOOL_NOW,
    }))
    -- the digest is v1's: HMAC of the body alone
    assert.are.equal("v1=" .. TOOL_SIG, webhooks.sign(TOOL_BODY, TOOL_SECRET, { t = 1, scheme = "v1" }):match("v1=%x+"))
  end)

  it("judges freshness by the signed body's timestamp, not the unsigned header", function()
    local err = refused(
      "timestamp_out_of_range",
      webhooks.verify_tool(TOOL_BODY, TOOL_SIG, TOOL_NOW * 1000 + 3600000, TOOL_SECRET, { now = TOOL_NOW + 3600 })
    )
    assert.matches("tool call's timestamp", err.message, 1, true)
    assert.is_true(webhooks.verify_tool(TOOL_BODY, TOOL_SIG, 0, TOOL_SECRET, { now = TOOL_NOW + 300 }))
    refused(
      "timestamp_out_of_range",
      webhooks.verify_tool(TOOL_BODY, TOOL_SIG, nil, TOOL_SECRET, { now = TOOL_NOW + 301 })
    )
    refused(
      "timestamp_out_of_range",
      webhooks.verify_tool(TOOL_BODY, TOOL_SIG, nil, TOOL_SECRET, { now = TOOL_NOW - 61 })
    )
  end)

  it("falls back to X-Zavu-Timestamp only for a body without a timestamp, else refuses", function()
    local body = '{"tool":"ping"}'
    local sig = webhooks.sign(body, TOOL_SECRET, { t = 1, scheme = "v1" }):match("v1=(%x+)")
    assert.is_true(webhooks.verify_tool(body, sig, 1786113454812, TOOL_SECRET, { now = TOOL_NOW }))
    assert.is_true(webhooks.verify_tool(body, sig, "1786113454812", TOOL_SECRET, { now = TOOL_NOW }))
    refused(
      "timestamp_out_of_range",
      webhooks.verify_tool(body, sig, 1786113454812, TOOL_SECRET, { now = TOOL_NOW + 400 })
    )
    local err = refused("timestamp_out_of_range", webhooks.verify_tool(body, sig, nil, TOOL_SECRET, { now = TOOL_NOW }))
    assert.matches("no timestamp", err.message, 1, true)
    refused("timestamp_out_of_range", webhooks.verify_tool(body, sig, "soon", TOOL_SECRET, { now = TOOL_NOW }))
  end)

  it("says each error code", function()
    refused("missing_signature", webhooks.verify_tool(TOOL_BODY, nil, nil, TOOL_SECRET, { now = TOOL_NOW }))
    refused("missing_signature", webhooks.verify_tool(TOOL_BODY, "", nil, TOOL_SECRET, { now = TOOL_NOW }))
    local err =
      refused("malformed_signature", webhooks.verify_tool(TOOL_BODY, H1, nil, TOOL_SECRET, { now = TOOL_NOW }))
    assert.matches("verify it with verify", err.message, 1, true)
    refused("malformed_signature", webhooks.verify_tool(TOOL_BODY, TOOL_SIG:sub(3), nil, TOOL_SECRET))
    refused("malformed_signature", webhooks.verify_tool(TOOL_BODY, { TOOL_SIG, TOOL_SIG }, nil, TOOL_SECRET))
    refused_hiding(
      { "other" },
      "signature_mismatch",
      webhooks.verify_tool(TOOL_BODY, TOOL_SIG, nil, "other", { now = TOOL_NOW })
    )
    refused(
      "signature_mismatch",
      webhooks.verify_tool(TOOL_BODY .. " ", TOOL_SIG, nil, TOOL_SECRET, { now = TOOL_NOW })
    )
    local body = "not json"
    local sig = webhooks.sign(body, TOOL_SECRET, { t = 1, scheme = "v1" }):match("v1=(%x+)")
    refused("invalid_json", webhooks.verify_tool(body, sig, nil, TOOL_SECRET, { now = TOOL_NOW }))
  end)
end)

describe("zavu.webhooks misuse", function()
  -- f raises, at the line of this file that called the function.
  local function raises(pattern, f)
    local ok, msg = pcall(f)
    assert.is_false(ok, "no error for " .. pattern)
    msg = tostring(msg)
    assert.matches("^[^\n]-webhooks_spec%.lua:%d+: ", msg, nil, false, msg)
    assert.matches(pattern, msg, 1, true)
    return msg
  end

  it("names an unknown option, with the nearest known one", function()
    raises(
      "unknown option 'tolerence' to 'verify' (did you mean 'tolerance'?)",
      function() webhooks.verify(B1, H1, S1, { tolerence = 300 }) end
    )
    raises(
      "unknown option 'requre_v2' to 'verify' (did you mean 'require_v2'?)",
      function() webhooks.verify(B1, H1, S1, { requre_v2 = true }) end
    )
    raises(
      "unknown option 'Now' to 'verify' (did you mean 'now'?)",
      function() webhooks.verify(B1, H1, S1, { Now = 1 }) end
    )
    -- two letters swapped are one edit: a three-letter name still gets its suggestion
    raises(
      "unknown option 'nwo' to 'verify' (did you mean 'now'?)",
      function() webhooks.verify(B1, H1, S1, { nwo = 1 }) end
    )
    raises(
      "unknown option 'secret' to 'verify' (known: now, require_v2, tolerance)",
      function() webhooks.verify(B1, H1, S1, { secret = S1 }) end
    )
    raises(
      "unknown option 'schema' to 'sign' (did you mean 'scheme'?)",
      function() webhooks.sign(B1, S1, { schema = "v2" }) end
    )
    raises(
      "unknown option 'require_v2' to 'verify_tool'",
      function() webhooks.verify_tool(TOOL_BODY, TOOL_SIG, nil, TOOL_SECRET, { require_v2 = true }) end
    )
  end)

  it("raises for wrong types and impossible values", function()
    raises("bad argument #1 to 'verify' (string expected, got nil)", function() webhooks.verify(nil, H1, S1) end)
    raises("bad argument #2 to 'verify' (string expected, got number)", function() webhooks.verify(B1, 5, S1) end)
    raises(
      "bad argument #3 to 'verify' (string or list of strings expected, got nil)",
      function() webhooks.verify(B1, H1, nil) end
    )
    raises("bad argument #3 to 'verify' (the secret is empty)", function() webhooks.verify(B1, H1, "") end)
    raises("bad argument #3 to 'verify' (empty list of secrets)", function() webhooks.verify(B1, H1, {}) end)
    raises(
      "bad argument #3 to 'verify' (secret #2: non-empty string expected)",
      function() webhooks.verify(B1, H1, { S1, 5 }) end
    )
    raises("bad argument #4 to 'verify' (table expected, got number)", function() webhooks.verify(B1, H1, S1, 300) end)
    raises(
      "bad option 'now' to 'verify' (finite number of seconds expected, got string)",
      function() webhooks.verify(B1, H1, S1, { now = "1736850000" }) end
    )
    raises("bad option 'now' to 'verify'", function() webhooks.verify(B1, H1, S1, { now = 0 / 0 }) end)
    raises(
      "bad option 'tolerance' to 'verify' (number of seconds >= 0 expected, got -1)",
      function() webhooks.verify(B1, H1, S1, { tolerance = -1 }) end
    )
    raises(
      "bad option 'require_v2' to 'verify' (boolean expected, got string)",
      function() webhooks.verify(B1, H1, S1, { require_v2 = "yes" }) end
    )
    raises("bad argument #2 to 'sign' (string expected, got table)", function() webhooks.sign(B1, { S1 }) end)
    raises(
      "bad option 't' to 'sign' (whole number of seconds >= 0 expected, got -1)",
      function() webhooks.sign(B1, S1, { t = -1 }) end
    )
    raises("bad option 't' to 'sign'", function() webhooks.sign(B1, S1, { t = 1.5 }) end)
    raises("bad option 't' to 'sign'", function() webhooks.sign(B1, S1, { t = "1" }) end)
    raises(
      'bad option \'scheme\' to \'sign\' ("v1", "v2" or "v1+v2" expected, got v3)',
      function() webhooks.sign(B1, S1, { scheme = "v3" }) end
    )
    raises(
      "bad argument #3 to 'verify_tool' (number of milliseconds expected, got boolean)",
      function() webhooks.verify_tool(TOOL_BODY, TOOL_SIG, true, TOOL_SECRET) end
    )
    raises(
      "bad argument #4 to 'verify_tool' (string or list of strings expected, got nil)",
      function() webhooks.verify_tool(TOOL_BODY, TOOL_SIG, nil) end
    )
  end)

  it("raises misuse even when the header alone would be refused", function()
    raises("bad option 'tolerance'", function() webhooks.verify(B1, { H1, H1 }, S1, { tolerance = "5" }) end)
    raises("bad argument #3 to 'verify'", function() webhooks.verify(B1, nil, nil) end)
  end)
end)
