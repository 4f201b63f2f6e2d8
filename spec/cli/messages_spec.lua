-- zavu messages send|list|get and zavu senders list|get|update|regenerate-secret,
-- against the mock's messages and senders (a key per spec); the confirm of
-- regenerate-secret in a pseudo-terminal.
local H = require "spec.helper"
local S = require "spec.cli.support"
local zavu = require "zavu"

local function lines(text)
  local list = {}
  for l in text:gmatch("[^\n]+") do
    list[#list + 1] = l
  end
  return list
end

-- A client of the spec itself, with key.
local function client(key) return zavu.new { api_key = key, base_url = H.http_url } end

describe("zavu messages send", function()
  it("sends the API's fields with a fresh key and prints the message; --json prints it as JSON", function()
    local key = S.key()
    local to = "+569" .. H.nonce()
    local out, err, status = S.run_as(key, "messages send --to " .. S.q(to) .. " --text Hello")
    assert.are.equal(0, status, err)
    assert.matches("^id: +msg_", out)
    assert.matches("\nstatus: +queued\n", out)
    local sent = H.mock_last_body(to)
    assert.are.equal("Hello", sent.text)
    assert.matches("^%x+$", sent.idempotencyKey)
    local m = S.json((S.run_as(key, "messages send --json --to " .. S.q(to) .. " --text Again")))
    assert.are.equal("Again", m.text)
    assert.are.equal(2, #H.mock_messages(key))
  end)

  it("--channel, --sender, --type with --media-url and --idempotency-key go where the API wants them", function()
    local key = S.key()
    local sender = assert(client(key).senders.create { name = "CLI" }).id
    local to = "echo-" .. H.nonce()
    local _, _, status = S.run_as(
      key,
      ("messages send --to %s --text cap --channel whatsapp --sender %s --type image --media-url %s --idempotency-key k-%s"):format(
        to,
        sender,
        "https://example.com/p.jpg",
        to
      )
    )
    assert.are.equal(1, status) -- echo-* answers 418
    local seen = H.info(to)
    assert.are.equal(sender, seen.headers["zavu-sender"])
    assert.are.same({
      to = to,
      text = "cap",
      channel = "whatsapp",
      messageType = "image",
      content = { mediaUrl = "https://example.com/p.jpg" },
      idempotencyKey = "k-" .. to,
    }, require("cjson").decode(seen.body))
  end)

  it("--text - reads standard input", function()
    local key = S.key()
    local to = "+569" .. H.nonce()
    local out, err, status = H.sh(
      "printf 'line one\\nline two\\n' | "
        .. S.prefix { ZAVUDEV_API_KEY = key }
        .. S.zavu
        .. " messages send --json --to "
        .. S.q(to)
        .. " --text -"
    )
    assert.are.equal(0, status, err)
    assert.are.equal("line one\nline two", S.json(out).text)
  end)

  it("usage errors exit 2 and send nothing", function()
    local key = S.key()
    for _, args in ipairs {
      "messages send --text x",
      "messages send --to +1",
      "messages send --to +1 --media-url https://example.com/a.jpg",
      "messages send --to +1 --text x --bogus",
      "messages send --to +1 --text x --media-url notaurl --type image",
    } do
      local _, err, status = S.run_as(key, args)
      assert.are.equal(2, status, args .. ": " .. err)
    end
    local _, err, status =
      H.sh("printf '' | " .. S.prefix { ZAVUDEV_API_KEY = key } .. S.zavu .. " messages send --to +1 --text -")
    assert.are.equal(2, status)
    assert.matches("standard input is empty", err)
    assert.are.equal(0, H.key_hits(key))
  end)

  it("a send that may have left names its key; the same key again cannot send twice", function()
    local key = S.key()
    local to = "hang-" .. H.nonce()
    local _, err, status = S.run_as(key, "messages send --to " .. to .. " --text x --timeout 0.3 --max-retries 0")
    assert.are.equal(1, status)
    local k = err:match("%-%-idempotency%-key (%x+)")
    assert.is_string(k, err)
    assert.are.equal(k, H.mock_last_body(to).idempotencyKey)
    -- a key used before: the API's 409, exit 1, nothing sent again
    local to2 = "+569" .. H.nonce()
    assert.are.equal(
      0,
      select(3, S.run_as(key, "messages send --to " .. to2 .. " --text x --idempotency-key once-" .. to2))
    )
    local out2, err2, status2 =
      S.run_as(key, "messages send --json --to " .. to2 .. " --text x --idempotency-key once-" .. to2)
    assert.are.equal(1, status2)
    assert.matches("used before", err2)
    assert.are.equal("once-" .. to2, S.json(out2).error.details.idempotencyKey)
    assert.is_nil(err2:find("to try again", 1, true))
    assert.are.equal(2, H.mock_hits(to2))
  end)
end)

describe("zavu messages list and get", function()
  it("list prints a table, --json every message, filters and --limit", function()
    local key = S.key()
    local c = client(key)
    for i = 1, 3 do
      assert(c.messages.send { to = "+1000" .. i, text = "text " .. i })
    end
    assert(c.messages.send { to = "+10001", channel = "whatsapp", text = "w" })
    local out, err, status = S.run_as(key, "messages list")
    assert.are.equal(0, status, err)
    local rows = lines(out)
    assert.are.equal(5, #rows)
    assert.matches("^ID +TO +CHANNEL +TYPE +STATUS +CREATED +TEXT$", rows[1])
    assert.matches("^msg_%S+ +%+10001 +sms +text +queued +%d%d%d%d%-%d%d%-%d%d %d%d:%d%dZ +text 1$", rows[2])
    assert.are.equal(2, #S.json((S.run_as(key, "messages list --json --to +10001"))))
    assert.are.equal(1, #S.json((S.run_as(key, "messages list --json --channel whatsapp"))))
    assert.are.equal(2, #S.json((S.run_as(key, "messages list --json --limit 2"))))
    assert.are.equal(4, #S.json((S.run_as(key, "messages list --json --status queued"))))
    local none, err2 = S.run_as(key, "messages list --status read")
    assert.are.equal("", none)
    assert.matches("no messages", err2)
    assert.are.equal("[]\n", (S.run_as(key, "messages list --json --status read")))
  end)

  it("get prints a message; a missing one exits 1, --json gives the error table", function()
    local key = S.key()
    local m = assert(client(key).messages.send { to = "+1555", text = "hi" })
    local out, err, status = S.run_as(key, "messages get " .. m.id)
    assert.are.equal(0, status, err)
    assert.matches("^id: +" .. m.id .. "\n", out)
    assert.matches("\ntext: +hi\n", out)
    local jout, _, jstatus = S.run_as(key, "messages get --json msg_nobody")
    assert.are.equal(1, jstatus)
    assert.are.equal("message_not_found", S.json(jout).error.code)
  end)
end)

describe("zavu senders", function()
  it("list shows id, name, phone, default, webhook, signature, and says who still gets v1 only", function()
    local key = S.key()
    local c = client(key)
    local a = assert(c.senders.create {
      name = "Old",
      phoneNumber = "+15550001",
      webhookUrl = "https://a.example/h",
      webhookSignatureVersion = "v1",
    })
    assert(c.senders.create { name = "New", webhookUrl = "https://b.example/h" })
    assert(c.senders.update(a.id, { webhookActive = false }))
    local out, err, status = S.run_as(key, "senders list")
    assert.are.equal(0, status, err)
    local rows = lines(out)
    assert.matches("^ID +NAME +PHONE +DEFAULT +WEBHOOK +SIGNATURE$", rows[1])
    assert.matches("^" .. a.id .. " +Old +%+15550001 +yes +https://a%.example/h %(paused%) +v1$", rows[2])
    assert.matches("^%S+ +New +%- +no +https://b%.example/h +v2$", rows[3])
    assert.matches("1 sender signs with v1 only", err)
    assert.are.equal(2, #S.json((S.run_as(key, "senders list --json"))))
  end)

  it("get shows one sender; update changes its webhook (--no-webhook sends null)", function()
    local key = S.key()
    local s = assert(
      client(key).senders.create { name = "Hook", webhookUrl = "https://a.example/h", webhookSignatureVersion = "v1" }
    )
    local out, err, status = S.run_as(key, "senders get " .. s.id)
    assert.are.equal(0, status, err)
    assert.matches("\nwebhook%.signatureVersion: +v1\n", out)
    local u = S.json(
      (
        S.run_as(
          key,
          "senders update --json "
            .. s.id
            .. " --signature-version v1+v2 --inactive --webhook-events message.inbound,message.read"
        )
      )
    )
    assert.are.equal("v1+v2", u.webhook.signatureVersion)
    assert.is_false(u.webhook.active)
    assert.are.same({ "message.inbound", "message.read" }, u.webhook.events)
    local _, err2, status2 = S.run_as(key, "senders update " .. s.id .. " --signature-version v2 --active")
    assert.are.equal(0, status2, err2)
    local _, _, status3 = S.run_as(key, "senders update " .. s.id .. " --no-webhook")
    assert.are.equal(0, status3)
    assert.are.equal('{"webhookUrl":null}', H.mock_last_raw_body(s.id))
  end)

  it("update's usage errors exit 2 and send nothing", function()
    local key = S.key()
    for _, args in ipairs {
      "senders update snd_1",
      "senders update snd_1 --webhook-url https://a.example --no-webhook",
      "senders update snd_1 --active --inactive",
      "senders update snd_1 --signature-version v3",
      "senders update snd_1 --webhook-events ,",
      "senders update --no-webhook",
    } do
      local _, err, status = S.run_as(key, args)
      assert.are.equal(2, status, args .. ": " .. err)
    end
    assert.are.equal(0, H.key_hits(key))
  end)

  it("regenerate-secret off a terminal needs --yes: without it, exit 2 and nothing sent", function()
    local key = S.key()
    local s = assert(client(key).senders.create { name = "Rot", webhookUrl = "https://a.example/h" })
    local before = H.key_hits(key)
    local _, err, status = S.run_as(key, "senders regenerate-secret " .. s.id)
    assert.are.equal(2, status)
    assert.matches("%-%-yes", err)
    assert.are.equal(before, H.key_hits(key))
    local out, err2, status2 = S.run_as(key, "senders regenerate-secret --yes " .. s.id)
    assert.are.equal(0, status2, err2)
    local secret = out:match("^secret: (whsec_%x+)\n$")
    assert.is_string(secret, out)
    assert.are_not.equal(s.webhook.secret, secret)
    assert.matches("^whsec_", S.json((S.run_as(key, "senders regenerate-secret --yes --json " .. s.id))).secret)
  end)

  it("regenerate-secret on a terminal asks first: no keeps the secret, yes replaces it", function()
    local key = S.key()
    local s = assert(client(key).senders.create { name = "Rot", webhookUrl = "https://a.example/h" })
    local before = H.key_hits(key)
    local out, status = S.run_tty("senders regenerate-secret " .. s.id, 100, 24, { ZAVUDEV_API_KEY = key }, "n\n")
    assert.are.equal(1, status, out)
    assert.matches("The old secret stops working at once. %[y/N%]", out)
    assert.matches("nothing changed", out)
    assert.are.equal(before, H.key_hits(key))
    out, status = S.run_tty("senders regenerate-secret " .. s.id, 100, 24, { ZAVUDEV_API_KEY = key }, "y\n")
    assert.are.equal(0, status, out)
    assert.matches("secret: whsec_%x+", out)
    assert.are.equal(before + 1, H.key_hits(key))
  end)
end)
