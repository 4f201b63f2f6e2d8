-- `zavu webhooks sign|verify` and `zavu listen`: the contract's vector 1,
-- the secret from the environment or a file (never a flag), exit statuses,
-- and listen in a pseudo-terminal: deliveries verified and printed, refusals
-- answered, forwarding to a local app, Ctrl-C exits 130.
local H = require "spec.helper"
local S = require "spec.cli.support"
local socket = require "socket"

local SECRET, T1 = "whsec_test_secret_1", 1736850000
local B1 = '{"id":"evt_1736850000000_abc123","type":"message.inbound","timestamp":1736850000000,'
  .. '"senderId":"sender_12345","projectId":"proj_abc","data":{"messageId":"jx77aa","to":"+13125551212",'
  .. '"from":"+14155551234","channel":"whatsapp_alt","messageType":"text","text":"Hi there",'
  .. '"status":"received","providerTimestamp":1736849999000}}'
local H1 = "t=1736850000,v1=3f6be952398723c0b5e503407d7ed9f3cac3ba78443784757759b7cd91bc5de5,"
  .. "v2=85145ca8ccd890d40df8f1c5ef2234b0f556ebe47a2f58b9b901d2d612dae4c4"

local body_file = H.write_tmp(B1)

-- No API key in the environment: these commands need none.
local function env(extra)
  local e = { ZAVUDEV_API_KEY = false, ZAVU_WEBHOOK_SECRET = SECRET }
  for k, v in pairs(extra or {}) do
    e[k] = v
  end
  return e
end

local function run(words, extra, input) return S.run(words .. " < " .. (input or body_file), env(extra)) end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

local function wait_for(cond, secs)
  local deadline = H.now() + (secs or 5)
  while H.now() < deadline do
    local v = cond()
    if v then return v end
    socket.sleep(0.02)
  end
end

describe("zavu webhooks sign", function()
  it("prints the contract's header for vector 1, the secret from ZAVU_WEBHOOK_SECRET", function()
    local out, err, status = run("webhooks sign --scheme v1+v2 --t " .. T1)
    assert.are.equal(0, status, err)
    assert.are.equal(H1 .. "\n", out)
    out = run("webhooks sign --t " .. T1) -- v2 by default
    assert.are.equal("t=1736850000,v2=" .. H1:match("v2=(%x+)") .. "\n", out)
    out = run("webhooks sign --scheme v1 --t " .. T1)
    assert.are.equal("t=1736850000,v1=" .. H1:match("v1=(%x+)") .. "\n", out)
  end)

  it("signs at the current time by default", function()
    local before = os.time()
    local out, err, status = run("webhooks sign")
    assert.are.equal(0, status, err)
    local t = tonumber(out:match("^t=(%d+),v2=%x+\n$"))
    assert.is_true(t >= before and t <= os.time(), out)
  end)

  it("reads the secret from --secret-file, never from a flag's value", function()
    local file = H.write_tmp(SECRET .. "\n")
    local out, err, status = run("webhooks sign --scheme v1+v2 --t " .. T1 .. " --secret-file " .. file, {
      ZAVU_WEBHOOK_SECRET = false,
    })
    assert.are.equal(0, status, err)
    assert.are.equal(H1 .. "\n", out)
    os.remove(file)
    local _
    _, err, status = run("webhooks sign --secret " .. SECRET, { ZAVU_WEBHOOK_SECRET = false })
    assert.are.equal(2, status)
    assert.matches("unknown flag '--secret'", err, 1, true)
    _, err, status = run("webhooks sign", { ZAVU_WEBHOOK_SECRET = false })
    assert.are.equal(2, status)
    assert.matches("no webhook secret: set ZAVU_WEBHOOK_SECRET or pass --secret-file FILE", err, 1, true)
    _, err, status = run("webhooks sign --scheme v3")
    assert.are.equal(2, status)
    assert.matches("bad value for --scheme: 'v3'", err, 1, true)
  end)
end)

describe("zavu webhooks verify", function()
  it("exits 0 and prints the event for vector 1", function()
    local out, err, status = run("webhooks verify --now " .. T1 .. " --signature " .. S.q(H1))
    assert.are.equal(0, status, err)
    local event = S.json(out)
    assert.are.equal("evt_1736850000000_abc123", event.id)
    assert.are.equal("v2", event.scheme)
    assert.are.equal("Hi there", event.data.text)
    assert.are.equal("", err)
  end)

  it("exits 1 with the reason: another secret, a stale signature, a changed body", function()
    local _, err, status = run("webhooks verify --now " .. T1 .. " --signature " .. S.q(H1), {
      ZAVU_WEBHOOK_SECRET = "whsec_test_secret_2",
    })
    assert.are.equal(1, status)
    assert.matches("^zavu: signature_mismatch: ", err)
    assert.is_nil(err:find("whsec_test_secret", 1, true))
    _, err, status = run("webhooks verify --signature " .. S.q(H1))
    assert.are.equal(1, status)
    assert.matches("^zavu: timestamp_out_of_range: ", err)
    local changed = H.write_tmp((B1:gsub("Hi there", "Hi therE")))
    _, err, status = run("webhooks verify --now " .. T1 .. " --signature " .. S.q(H1), nil, changed)
    os.remove(changed)
    assert.are.equal(1, status)
    assert.matches("^zavu: signature_mismatch: ", err)
    local out
    out, err, status = run("--json webhooks verify --signature 't=abc,v2=00'")
    assert.are.equal(1, status)
    assert.are.equal("malformed_signature", S.json(out).error.code)
    assert.matches("malformed_signature", err, 1, true)
  end)

  it("takes several secrets from --secret-file, --tolerance and --require-v2", function()
    local file = H.write_tmp("# one per sender\nwhsec_other\n\n" .. SECRET .. "\n")
    local out, err, status = run(
      "webhooks verify --secret-file " .. file .. " --now " .. (T1 + 3000) .. " --tolerance 1h --signature " .. S.q(H1),
      { ZAVU_WEBHOOK_SECRET = false }
    )
    os.remove(file)
    assert.are.equal(0, status, err)
    assert.are.equal("v2", S.json(out).scheme)
    local v1_only = H1:match("^(t=%d+,v1=%x+)")
    local _
    _, err, status = run("webhooks verify --require-v2 --now " .. T1 .. " --signature " .. S.q(v1_only))
    assert.are.equal(1, status)
    assert.matches("require_v2", err, 1, true)
    out, err, status = run("webhooks verify --now " .. T1 .. " --signature " .. S.q(v1_only))
    assert.are.equal(0, status, err)
    assert.are.equal("v1", S.json(out).scheme)
  end)

  it("exits 2 without --signature", function()
    local _, err, status = run("webhooks verify")
    assert.are.equal(2, status)
    assert.matches("missing --signature", err, 1, true)
  end)
end)

-- `zavu listen ARGS` in a pseudo-terminal (util-linux script), its input a
-- FIFO we hold: typing Ctrl-C there is a real terminal's SIGINT.
local function listen(words, extra)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. dir .. " && mkfifo " .. dir .. "/in"))
  local cmd = ("echo $$ > %s/pid; stty cols 200 rows 24; exec %s %s %s"):format(
    dir,
    S.prefix(env(extra)),
    S.zavu,
    words
  )
  local preload = os.getenv("LD_PRELOAD") -- under the asan suite, for the interpreter only
  if preload then cmd = "LD_PRELOAD='" .. preload .. "' " .. cmd end
  local sh = ("env -u LD_PRELOAD script -qec %s /dev/null < %s/in > %s/out 2>&1; echo $? > %s/rc"):format(
    S.q(cmd),
    dir,
    dir,
    dir
  )
  os.execute("sh -c " .. S.q(sh) .. " >/dev/null 2>&1 &")
  local self = { dir = dir, keyboard = assert(io.open(dir .. "/in", "w")) }
  function self.output() return read(dir .. "/out") end
  self.port =
    tonumber(wait_for(function() return self.output():match("listening on http://127%.0%.0%.1:(%d+)/") end, 10))
  assert(self.port, "zavu listen did not start: " .. self.output())
  -- type Ctrl-C; returns the exit status and the seconds it took
  function self.interrupt()
    local t0 = H.now()
    self.keyboard:write("\3")
    self.keyboard:flush()
    local rc = wait_for(function() return tonumber(read(dir .. "/rc"):match("%d+")) end, 10)
    local took = H.now() - t0
    self.keyboard:close()
    return rc, took
  end
  -- (a failed spec leaves no listen running)
  function self.cleanup()
    local pid = tonumber(read(dir .. "/pid"):match("%d+"))
    if pid and read(dir .. "/rc") == "" then os.execute("kill " .. pid .. " 2>/dev/null") end
    pcall(self.keyboard.close, self.keyboard)
    os.execute("rm -rf " .. dir)
  end
  return self
end

-- POST body with the signature to port -> status, answer.
local function post(port, body, signature, method)
  local file = H.write_tmp(body)
  local out = H.sh(
    ("curl -s --max-time 8 -X %s -w '\\n%%{http_code}' %s --data-binary @%s 'http://127.0.0.1:%d/webhooks'"):format(
      method or "POST",
      signature and ("-H " .. S.q("X-Zavu-Signature: " .. signature)) or "",
      file,
      port
    )
  )
  os.remove(file)
  local answer, code = out:match("^(.*)\n(%d+)$")
  return tonumber(code), answer
end

local GROUP = '{"id":"evt_grp_%s","type":"message.inbound","timestamp":1736850060000,"data":{"from":"+14155559999",'
  .. '"text":"Anyone free?","isGroup":true,"groupName":"Weekend Trip"}}'

describe("zavu listen", function()
  it("verifies and prints each delivery, answers refusals, and exits 130 on Ctrl-C", function()
    local l = listen("listen --port 0")
    finally(l.cleanup)
    local body = GROUP:format(H.nonce())
    local code, answer = post(l.port, body, S.run(("webhooks sign < %s"):format(H.write_tmp(body)), env()):match("%S+"))
    assert.are.equal(200, code, answer)
    assert.are.equal('{"ok":true}\n', answer)
    local id = body:match('"id":"([^"]+)"')
    assert(wait_for(function() return l.output():find(id, 1, true) end), l.output())
    local line = l.output():match("[^\n]*" .. id:gsub("%p", "%%%0") .. "[^\n]*")
    assert.matches("^2025%-01%-14T10:21:00Z  message%.inbound  " .. id:gsub("%p", "%%%0"), line)
    assert.matches('from +14155559999  "Anyone free?"  [group Weekend Trip]', line, 1, true)
    -- a delivery that does not verify, another method, no signature
    code, answer = post(l.port, body .. " ", H1)
    assert.are.equal(401, code)
    assert.are.equal('{"error":"timestamp_out_of_range"}\n', answer)
    code = post(l.port, body, nil)
    assert.are.equal(401, code)
    code = post(l.port, body, H1, "GET")
    assert.are.equal(405, code)
    assert(
      wait_for(function() return l.output():find("refused a delivery: missing_signature", 1, true) end),
      l.output()
    )
    local rc, took = l.interrupt()
    assert.are.equal(130, rc, l.output())
    assert.is_true(took < 1, ("took %.3f s"):format(took))
    assert.is_nil(l.output():find("traceback", 1, true))
    assert.is_nil(l.output():find(SECRET, 1, true))
  end)

  it("forwards a verified delivery's bytes and headers to a local app, and answers its status", function()
    local app = listen("listen --port 0") -- the app: another listen, which verifies what it gets
    finally(app.cleanup)
    local front = listen("listen --port 0 --forward-to http://127.0.0.1:" .. app.port .. "/app")
    finally(front.cleanup)
    local body = GROUP:format(H.nonce())
    local id = body:match('"id":"([^"]+)"')
    local signature = S.run(("webhooks sign < %s"):format(H.write_tmp(body)), env()):match("%S+")
    local code, answer = post(front.port, body, signature)
    assert.are.equal(200, code, answer .. front.output())
    assert(wait_for(function() return app.output():find(id, 1, true) end), app.output())
    assert.matches("forwarded " .. id:gsub("%p", "%%%0") .. " to http://127%.0%.0%.1:%d+/app: HTTP 200", front.output())
    assert.are.equal(130, (app.interrupt()))
    -- the app is gone: 502, and the delivery is still printed
    code = post(front.port, body, signature)
    assert.are.equal(502, code)
    assert.are.equal(130, (front.interrupt()))
  end)

  it("refuses a forward URL that is not http:// and a missing secret, with exit 2", function()
    local _, err, status = S.run("listen --forward-to https://example.com/", env())
    assert.are.equal(2, status)
    assert.matches("--forward-to takes an http:// URL", err, 1, true)
    _, err, status = S.run("listen", env { ZAVU_WEBHOOK_SECRET = false })
    assert.are.equal(2, status)
    assert.matches("no webhook secret", err, 1, true)
  end)
end)
