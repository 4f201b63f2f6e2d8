-- zavu sessions list, get, create, the actions on a session, egress nodes
-- and the proxy, against the mock's small Zavu (a key per spec).
local H = require "spec.helper"
local S = require "spec.cli.support"

local function lines(text)
  local list = {}
  for l in text:gmatch("[^\n]+") do
    list[#list + 1] = l
  end
  return list
end

describe("zavu sessions list", function()
  it("prints a table of every session, across pages, with a header", function()
    local key = S.key()
    S.seed(key, 120, { status = "disconnected", createdAt = "2026-01-02T03:04:05Z" })
    local out, err, status = S.run_as(key, "sessions list")
    assert.are.equal(0, status, err)
    local rows = lines(out)
    assert.are.equal(121, #rows)
    assert.matches("^ID +NAME +STATUS +PHONE +CREATED$", rows[1])
    assert.matches("^%S+ +[Ss]eed%a* 1 +disconnected +%- +2026%-01%-02 03:04Z$", rows[2])
    local ids = S.sessions(key)
    assert.are.equal(120, #ids)
  end)

  it("--status keeps those statuses; --json is every session, [] for none", function()
    local key = S.key()
    S.seed(key, 2, { status = "failed" })
    S.seed(key, 3, { status = "ready" })
    local out, _, status = S.run_as(key, "sessions list --status failed,disconnected --json")
    assert.are.equal(0, status)
    local list = S.json(out)
    assert.are.equal(2, #list)
    for _, s in ipairs(list) do
      assert.are.equal("failed", s.status)
    end
    out = S.run_as(key, "sessions list --status initializing --json")
    assert.are.equal("[]\n", out)
    local text, err = S.run_as(key, "sessions list --status initializing")
    assert.are.equal("", text)
    assert.matches("no sessions", err)
  end)

  it("fits the table to a terminal of 40 columns, ids whole", function()
    local key = S.key()
    S.seed(key, 3, { status = "authenticating" })
    local ids = S.sessions(key)
    local out, status = S.run_tty("sessions list", 40, 24, { ZAVUDEV_API_KEY = key })
    assert.are.equal(0, status, out)
    local shown = out:gsub("\27%[[%d;]*m", "")
    for _, l in ipairs(lines((shown:gsub("\r", "")))) do
      assert.is_true(#l <= 39, "wider than the terminal: " .. l)
    end
    for _, s in ipairs(ids) do
      assert.matches(s.id, shown, 1, true)
    end
    assert.matches("\27[1mID", out, 1, true) -- a bold header: colour on a terminal
  end)
end)

describe("zavu sessions get", function()
  it("prints the session's fields, or with --json the session itself", function()
    local key = S.key()
    local s = S.json((S.run_as(key, "sessions create --json --name Support")))
    local out, err, status = S.run_as(key, "sessions get " .. s.id)
    assert.are.equal(0, status, err)
    assert.matches("^id: +" .. s.id .. "\n", out)
    assert.matches("\ndisplayName: +Support\n", out)
    assert.matches("\nstatus: +initializing\n", out)
    out = S.run_as(key, "sessions get --json " .. s.id)
    assert.are.same(s, S.json(out))
  end)

  it("exits 1 on a session that is not there; --json gives the error table", function()
    local key = S.key()
    local out, err, status = S.run_as(key, "sessions get --json nosuch-session")
    assert.are.equal(1, status)
    assert.matches(
      "^zavu: session nosuch%-session: session_not_found %(HTTP 404%): Session not found %[request_id=req_%x+%]\n$",
      err
    )
    local e = S.json(out).error
    assert.are.equal("session_not_found", e.code)
    assert.are.equal(404, e.status)
    assert.matches("^req_", e.request_id)
  end)
end)

describe("zavu sessions create", function()
  it("sends the name and the egress asked for", function()
    local key = S.key()
    local node = S.json((S.run_as(key, "egress-nodes create --json --sender snd_1"))).node.id
    local out, err, status = S.run_as(key, "sessions create --json --name 'Shop 1' --egress android --node " .. node)
    assert.are.equal(0, status, err)
    local s = S.json(out)
    assert.are.equal("Shop 1", s.displayName)
    assert.are.same({ kind = "android", nodeId = node }, s.egress)
    assert.are.same(s, S.json((S.run_as(key, "sessions get --json " .. s.id))))
    out, err, status = S.run_as(key, "sessions create --json")
    assert.are.equal(0, status, err)
    assert.is_nil(S.json(out).displayName)
  end)

  it("--wait: through the whole life cycle, each QR code once, then the ready session", function()
    local key = S.key()
    local out, err, status = S.run_as(key, "sessions create --name auto-300 --wait --interval 0.1")
    assert.are.equal(0, status, err)
    local id = out:match("^id: +(%S+)\n")
    assert.is_string(id, out)
    assert.matches("\nstatus: +ready\n", out)
    assert.matches("\nphoneNumber: +%+%d+\n", out)
    local qrs, seen, n = {}, {}, 0
    for k, payload in err:gmatch("QR code (%d) of session " .. id .. " %([^)]*%): (%S+)\n") do
      n = n + 1
      assert.are.equal(n, tonumber(k))
      assert.is_nil(seen[payload], "shown twice: " .. payload)
      seen[payload] = true
      assert.matches("^2@", payload) -- the mock's, as WhatsApp's: "2@..."
      assert.matches(id, payload, 1, true)
      qrs[#qrs + 1] = payload
    end
    assert.is_true(#qrs >= 2, err) -- the mock rotates it
  end)

  it("--wait --json: the ready session as JSON", function()
    local out, err, status = S.run_as(S.key(), "sessions create --json --name auto-100 --wait --interval 0.1")
    assert.are.equal(0, status, err)
    assert.are.equal("ready", S.json(out).status)
  end)

  it("--wait on a terminal: qrencode draws each QR code in place, taken away once ready", function()
    local out, status =
      S.run_tty("sessions create --name auto-400 --wait --interval 0.1", 100, 60, { ZAVUDEV_API_KEY = S.key() })
    assert.are.equal(0, status, out)
    local _, drawn = out:gsub("QR code %d of session", "")
    assert.is_true(drawn >= 2, out)
    assert.matches("▄", out, 1, true) -- qrencode's half blocks
    local _, redraws = out:gsub("\27%[%d+A\r\27%[J", "")
    assert.are.equal(drawn, redraws) -- each one after the first in place, and the last taken away
    assert.matches("status: +ready", out)
  end)

  it("--wait with NO_COLOR: the QR code drawn without a colour escape", function()
    local out, status = S.run_tty(
      "sessions create --name auto-200 --wait --interval 0.1",
      100,
      60,
      { ZAVUDEV_API_KEY = S.key(), NO_COLOR = "1" }
    )
    assert.are.equal(0, status, out)
    assert.matches("▄", out, 1, true)
    assert.not_matches("\27%[[%d;]*m", out)
  end)

  it("--wait without a renderer: the raw payload and a hint", function()
    local out, status = S.run_tty(
      "sessions create --name auto-200 --wait --interval 0.1",
      100,
      60,
      { ZAVUDEV_API_KEY = S.key(), ZAVU_QRENCODE = "" }
    )
    assert.are.equal(0, status, out)
    assert.matches("QR code 1 of session %S+ %(scan it with WhatsApp: Linked devices > Link a device%):\r?\n2@", out)
    assert.matches("install qrencode", out, 1, true)
  end)

  it("--wait exits 1 when the session fails, with its last error", function()
    local key = S.key()
    local s = S.json((S.run_as(key, "sessions create --json")))
    S.set_state(s.id, { status = "failed", lastError = "phone offline" })
    local _, err, status = S.run_as(key, "sessions wait " .. s.id)
    assert.are.equal(1, status)
    -- the last status the wait saw, and its one request (issue 15)
    assert.matches("session_failed (HTTP 200): the session failed: phone offline", err, 1, true)
  end)

  it("--wait-timeout: exit 1 with a timeout when the session never gets there", function()
    local key = S.key()
    local s = S.json((S.run_as(key, "sessions create --json")))
    local t0 = H.now()
    local _, err, status = S.run_as(key, "sessions wait --wait-timeout 500ms --interval 0.1 " .. s.id)
    assert.are.equal(1, status)
    assert.matches("timeout (HTTP 200): the session did not reach the status asked for", err, 1, true)
    assert.matches("%(%d+ attempts%)", err)
    assert.is_true(H.now() - t0 < 3)
  end)
end)

describe("zavu sessions actions", function()
  it("reconnect, link, set-egress, unlink, logout, delete: what the API documents", function()
    local key = S.key()
    local id = S.json((S.run_as(key, "sessions create --json"))).id
    local node = S.json((S.run_as(key, "egress-nodes create --json --sender snd_1"))).node.id
    local function ok(args)
      local out, err, status = S.run_as(key, "--json sessions " .. args)
      assert.are.equal(0, status, err)
      return S.json(out)
    end
    assert.are.equal(id, ok("reconnect " .. id).id)
    assert.are.equal("snd_1", ok("link " .. id .. " snd_1").senderId)
    assert.are.same({ senderId = "snd_1" }, S.json(H.info(id).body))
    assert.are.same({ kind = "android", nodeId = node }, ok("set-egress " .. id .. " --node " .. node).egress)
    assert.are.equal("external", ok("set-egress " .. id .. " --egress external").egress.kind)
    assert.are.same({ egress = { kind = "external" } }, S.json(H.info(id).body))
    assert.is_nil(ok("unlink " .. id).senderId)
    assert.are.equal("disconnected", ok("logout " .. id).status)
    local out, err, status = S.run_as(key, "sessions delete " .. id)
    assert.are.equal(0, status, err)
    assert.are.equal("deleted session " .. id .. "\n", out)
    assert.are.same({}, S.sessions(key))
  end)
end)

describe("zavu egress-nodes and proxy-status", function()
  it("create, list, get, pairing-token, delete", function()
    local key = S.key()
    local out, err, status = S.run_as(key, "egress-nodes create --json --sender snd_9 --label Phone")
    assert.are.equal(0, status, err)
    local r = S.json(out)
    local id = r.node.id
    assert.is_string(r.pairing.token)
    assert.are.equal("snd_9", r.node.senderId)
    assert.are.equal("Phone", r.node.label)
    out = S.run_as(key, "egress-nodes list --sender snd_9")
    assert.matches("^ID +LABEL +SENDER", out)
    assert.matches("\n" .. id .. " +Phone +snd_9 ", out)
    assert.are.equal("[]\n", (S.run_as(key, "egress-nodes list --json --sender snd_other")))
    assert.are.equal("Phone", S.json((S.run_as(key, "egress-nodes get --json " .. id))).label)
    out, err, status = S.run_as(key, "egress-nodes pairing-token " .. id)
    assert.are.equal(0, status, err)
    assert.matches("pairing.token: +%S", out)
    out, err, status = S.run_as(key, "egress-nodes delete " .. id)
    assert.are.equal(0, status, err)
    assert.are.equal("deleted egress node " .. id .. "\n", out)
    _, err, status = S.run_as(key, "egress-nodes get " .. id) -- luacheck: ignore 111
    assert.are.equal(1, status)
    assert.matches("egress_node_not_found (HTTP 404)", err, 1, true)
  end)

  it("proxy-status prints the API's answer", function()
    local out, err, status = S.run("proxy-status")
    assert.are.equal(0, status, err)
    assert.are.equal("zavuProxyAvailable: true\n", out)
    assert.are.same({ zavuProxyAvailable = true }, S.json((S.run("proxy-status --json"))))
  end)
end)
