-- The mock's webhook deliveries (spec/mock/mock_deliver.lua) reach a real
-- OpenResty receiver (require("zavu.openresty").webhook): receipts of a send,
-- injected inbound traffic, retries with the same id, each signature scheme,
-- and only the events a sender subscribed to.
local H = require "spec.helper"
local cjson = require "cjson"
local http = require "socket.http"
local ltn12 = require "ltn12"
local webhooks = require("zavu").webhooks

-- The receiver: secrets are added at run time (/secret?v=...: the mock makes
-- each sender's), every handled event is kept (/event?id=...); /flaky raises
-- on an event's first delivery, so the receiver answers 500 once.
local CONF = [[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes 1;
error_log logs/error.log notice;
pid logs/receiver.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path logs/body;
    lua_package_path "ROOT/lua/?.lua;ROOT/lua/?/init.lua;;";
    lua_package_cpath "ROOT/build/luajit/?.so;;";
    lua_shared_dict zavu_webhooks 1m;
    lua_shared_dict handled 1m;
    lua_shared_dict secrets 64k;
    server {
        listen 127.0.0.1:PORT;
        location / {
            content_by_lua_block {
                local cjson = require "cjson"
                local handled, secrets = ngx.shared.handled, ngx.shared.secrets
                local uri = ngx.var.uri
                if uri == "/secret" then
                    secrets:set(ngx.var.arg_v, true)
                    return ngx.exit(204)
                elseif uri == "/event" then
                    ngx.say(handled:get("event:" .. ngx.var.arg_id) or "null")
                    return
                end
                local flaky = uri == "/flaky"
                return require("zavu.openresty").webhook {
                    secret = secrets:get_keys(0),
                    dedupe = "zavu_webhooks",
                    on_event = function(event)
                        if flaky and handled:incr("raised:" .. event.id, 1, 0) == 1 then
                            error("the handler failed on purpose")
                        end
                        local n = handled:incr("count:" .. event.id, 1, 0)
                        handled:set("event:" .. event.id, cjson.encode {
                            count = n, type = event.type, scheme = event.scheme, data = event.data,
                            senderId = event.senderId,
                        })
                    end,
                }
            }
        }
    }
}
]]

local receiver = {}

local function get(url)
  local out = {}
  local _, code = http.request { url = url, sink = ltn12.sink.table(out) }
  return code, table.concat(out)
end

local function mock_post(path, body)
  local text, out = cjson.encode(body), {}
  local _, code = http.request {
    url = H.http_url .. path,
    method = "POST",
    source = ltn12.source.string(text),
    headers = { ["Content-Type"] = "application/json", ["Content-Length"] = #text },
    sink = ltn12.sink.table(out),
  }
  assert(code == 200, path .. ": " .. tostring(code) .. " " .. table.concat(out))
  return cjson.decode(table.concat(out))
end

local function deliveries(sender_id)
  local code, body = get(H.http_url .. "/_mock/deliveries/" .. sender_id)
  assert(code == 200, "deliveries: " .. tostring(code))
  return cjson.decode(body).items
end

-- Polls the mock until done(items) holds (10 s at most); returns the items.
local function wait_deliveries(sender_id, done)
  local deadline = H.now() + 10
  local items
  repeat
    items = deliveries(sender_id)
    if done(items) then return items end
    H.sh("sleep 0.1")
  until H.now() > deadline
  error("deliveries never settled: " .. cjson.encode(items))
end

local function all_done(n)
  return function(items)
    if #items < n then return false end
    for _, d in ipairs(items) do
      if not (d.done or d.failed) then return false end
    end
    return true
  end
end

-- What the receiver handled for an event id (nil: never handled).
local function handled(id)
  local code, body = get(("http://127.0.0.1:%d/event?id=%s"):format(receiver.port, id))
  assert(code == 200)
  local v = cjson.decode(body)
  if v == cjson.null then return nil end
  return v
end

-- A fresh key, and a sender of it whose webhook is the receiver's `path`.
local function sender(opts)
  local key = "zv_live_" .. H.nonce()
  local c = H.client { api_key = key }
  local s = assert(c.senders.create {
    name = "Deliver " .. H.nonce(),
    phoneNumber = "+1555" .. math.random(1000000, 9999999),
    webhookUrl = ("http://127.0.0.1:%d%s"):format(receiver.port, opts.path or "/plain"),
    webhookEvents = opts.events,
    webhookSignatureVersion = opts.version,
  })
  local code = get(("http://127.0.0.1:%d/secret?v=%s"):format(receiver.port, s.webhook.secret))
  assert(code == 204)
  mock_post("/_mock/settings", { senderId = s.id, delivery_scale = 0.001 })
  return s, c
end

local function types(items)
  local out = {}
  for _, d in ipairs(items) do
    out[#out + 1] = d.type
  end
  table.sort(out)
  return out
end

local ALL = {
  "message.queued",
  "message.sent",
  "message.delivered",
  "message.read",
  "message.inbound",
  "message.status",
  "conversation.new",
}

describe("the mock's webhook deliveries", function()
  setup(function()
    receiver.port = H.free_port()
    receiver.dir = os.tmpname()
    os.remove(receiver.dir)
    assert(os.execute("mkdir -p " .. receiver.dir .. "/logs"))
    local conf = CONF:gsub("ROOT", H.root):gsub("PORT", receiver.port)
    local user = H.sh("id -u") == "0\n" and "user root;\n" or ""
    local f = assert(io.open(receiver.dir .. "/nginx.conf", "w"))
    f:write(user, conf)
    f:close()
    local _, err, status = H.sh(("timeout 10 nginx -p %s -c nginx.conf"):format(receiver.dir))
    assert(status == 0, "nginx did not start: " .. err)
  end)

  teardown(function()
    local pf = io.open(receiver.dir .. "/logs/receiver.pid")
    local pid = pf and pf:read("*l")
    if pf then pf:close() end
    if pid then
      H.sh("kill " .. pid .. "; for i in $(seq 50); do kill -0 " .. pid .. " 2>/dev/null || break; sleep 0.1; done")
    end
    H.sh("rm -rf " .. receiver.dir)
  end)

  it("bring a send's receipts, each handled once, as the clock moves the message", function()
    local s, c = sender { events = ALL }
    local m = assert(c.messages.send {
      to = "+15557654321",
      text = "receipts, please",
      channel = "telegram",
      metadata = { mock_step_ms = "100" },
    })
    local items = wait_deliveries(s.id, all_done(4))
    assert.are.same({ "message.delivered", "message.queued", "message.read", "message.sent" }, types(items))
    local seen = {}
    for _, d in ipairs(items) do
      assert.is_true(d.done)
      assert.are.equal(1, #d.attempts)
      assert.are.equal(200, d.attempts[1].status)
      local e = assert(handled(d.id), "the receiver never handled " .. d.id)
      assert.are.equal(1, e.count)
      assert.are.equal(d.type, e.type)
      assert.are.equal(s.id, e.senderId)
      assert.are.equal(m.id, e.data.messageId)
      assert.are.equal(d.type, "message." .. e.data.status)
      seen[e.data.status] = d.attempts[1].at
    end
    -- in the clock's order, one step (100 ms) apart at least
    assert.is_true(seen.sent - seen.queued >= 90 and seen.delivered - seen.sent >= 90 and seen.read > seen.delivered)
  end)

  it("bring injected inbound traffic: a new contact, a group message, a reaction, a story", function()
    local s = sender { events = ALL }
    local first = mock_post("/_mock/inbound", { senderId = s.id, from = "+14155550001", text = "hello" })
    assert.are.same({ "conversation.new", "message.inbound" }, { first.events[1].type, first.events[2].type })
    local again = mock_post("/_mock/inbound", { senderId = s.id, from = "+14155550001", text = "me again" })
    assert.are.equal(1, #again.events) -- a known contact: no conversation.new
    local group = mock_post("/_mock/inbound", {
      senderId = s.id,
      kind = "group",
      from = "+14155550002",
      text = "¡Sí! ✅",
      groupId = "120363000000000001@g.us",
      groupName = "Weekend Trip",
    })
    local reaction =
      mock_post("/_mock/inbound", { senderId = s.id, kind = "reaction", emoji = "❤", reactTo = "msg_x" })
    local story =
      mock_post("/_mock/inbound", { senderId = s.id, kind = "story", text = "At the beach", mimetype = "image/jpeg" })
    wait_deliveries(s.id, all_done(6))

    local new = assert(handled(first.events[1].id))
    assert.are.equal("conversation.new", new.type)
    assert.are.equal("+14155550001", new.data.phoneNumber)
    local inbound = assert(handled(first.events[2].id))
    assert.are.equal("hello", inbound.data.text)
    assert.are.equal(cjson.null, inbound.data.conversationId) -- still being made
    local later = assert(handled(again.events[1].id))
    assert.are.equal(new.data.conversationId, later.data.conversationId)

    local g = assert(handled(group.events[#group.events].id))
    assert.are.equal("message.inbound", g.type)
    assert.is_true(g.data.isGroup)
    assert.are.equal("120363000000000001@g.us", g.data.groupId)
    assert.are.equal("+14155550002", g.data.groupAuthor)
    assert.are.equal("Weekend Trip", g.data.groupName)
    assert.are.equal("¡Sí! ✅", g.data.text)

    local r = assert(handled(reaction.events[#reaction.events].id))
    assert.are.equal("reaction", r.data.messageType)
    assert.are.same({ emoji = "❤", reactToMessageId = "msg_x" }, r.data.content)

    local st = assert(handled(story.events[1].id))
    assert.are.equal("message.status", st.type)
    assert.are.equal("image/jpeg", st.data.mimetype)
    assert.are.equal("At the beach", st.data.text)
  end)

  it("retry a delivery the receiver answered 500, with the same id, until it is handled", function()
    local s = sender { events = { "message.inbound" }, path = "/flaky" }
    local made = mock_post("/_mock/inbound", { senderId = s.id, text = "try twice" })
    local items = wait_deliveries(s.id, all_done(1))
    assert.are.equal(1, #items)
    local d = items[1]
    assert.are.equal(made.events[#made.events].id, d.id)
    assert.are.equal(2, #d.attempts)
    assert.are.equal(500, d.attempts[1].status)
    assert.are.equal(200, d.attempts[2].status)
    assert.is_true(d.attempts[2].at - d.attempts[1].at >= 55) -- 1 min scaled by 0.001
    assert.are.equal(d.id, cjson.decode(d.body).id)
    local e = assert(handled(d.id))
    assert.are.equal(1, e.count)
    assert.are.equal("try twice", e.data.text)
  end)

  it("sign in each sender's signatureVersion, and each verifies", function()
    for _, case in ipairs {
      { version = "v1", scheme = "v1", has = { v1 = true } },
      { version = "v2", scheme = "v2", has = { v2 = true } },
      { version = "v1+v2", scheme = "v2", has = { v1 = true, v2 = true } },
    } do
      local s = sender { events = { "message.inbound" }, version = case.version }
      mock_post("/_mock/inbound", { senderId = s.id, from = "+14155550003" })
      local d = wait_deliveries(s.id, all_done(1))[1]
      local sig = d.attempts[1].signature
      assert.are.equal(200, d.attempts[1].status, case.version)
      assert.are.equal(case.scheme, assert(handled(d.id)).scheme, case.version)
      local t = assert(tonumber(sig:match("^t=(%d+)")))
      assert.are.equal(case.has.v1 or false, sig:find(",v1=%x+") ~= nil, case.version)
      assert.are.equal(case.has.v2 or false, sig:find(",v2=%x+") ~= nil, case.version)
      -- each digest is the library's own, over the bytes recorded, with one t
      for scheme in pairs(case.has) do
        local alone = ("t=%d,%s=%s"):format(t, scheme, sig:match(scheme .. "=(%x+)"))
        local event, err = webhooks.verify(d.body, alone, s.webhook.secret)
        assert(event, case.version .. " " .. scheme .. ": " .. tostring(err and err.code))
        assert.are.equal(scheme, event.scheme)
      end
    end
  end)

  it("send no event the sender did not subscribe to", function()
    local s, c = sender { events = { "message.inbound", "message.delivered" } }
    assert(
      c.messages.send { to = "+15557654322", text = "x", channel = "telegram", metadata = { mock_step_ms = "50" } }
    )
    local story = mock_post("/_mock/inbound", { senderId = s.id, kind = "story", text = "unseen" })
    assert.is_false(story.events[1].sent)
    local made = mock_post("/_mock/inbound", { senderId = s.id, from = "+14155550004" })
    assert.are.same({ "conversation.new", "message.inbound" }, { made.events[1].type, made.events[2].type })
    assert.is_false(made.events[1].sent)
    H.sh("sleep 0.5") -- past the read receipt (150 ms)
    local items = wait_deliveries(s.id, all_done(2))
    assert.are.same({ "message.delivered", "message.inbound" }, types(items))
    assert.is_nil(handled(story.events[1].id))
    assert.is_nil(handled(made.events[1].id))
  end)
end)
