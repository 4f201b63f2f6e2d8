-- require("zavu.openresty").webhook in a real nginx: examples/openresty/webhooks.conf
-- (the README's receiver, as written) plus a spec server whose handlers count
-- what they handle in a shared dict. Every request is bounded (curl --max-time).
local H = require "spec.helper"
local cjson = require "cjson"
local webhooks = require("zavu").webhooks

local MAX_TIME = 8
local SECRET = "whsec_spec_receiver_7Yq2"
local MIB = 1024 * 1024

-- The spec's server: nginx's own body limit above the receiver's, so that
-- max_body is what refuses; handlers driven by the (signed) event's data.
local SPEC_SERVER = [[
    lua_shared_dict handled 1m;
    server {
        listen 127.0.0.1:SPEC_PORT;
        client_max_body_size 4m;
        location / {
            content_by_lua_block {
                local handled = ngx.shared.handled
                local function on_event(event)
                    local data = event.data or {}
                    handled:incr("started:" .. event.id, 1, 0)
                    if data.sleep then ngx.sleep(data.sleep) end
                    if data.raise_once and handled:incr("raised:" .. event.id, 1, 0) == 1 then
                        error("the handler failed on purpose")
                    end
                    handled:incr("count:" .. event.id, 1, 0)
                end
                local zavu = require "zavu.openresty"
                local uri = ngx.var.uri
                if uri == "/plain" then
                    return zavu.webhook { secret = os.getenv("ZAVU_WEBHOOK_SECRET"), dedupe = "zavu_webhooks", on_event = on_event }
                elseif uri == "/nodedupe" then
                    return zavu.webhook { secret = os.getenv("ZAVU_WEBHOOK_SECRET"), on_event = on_event }
                elseif uri == "/list" then
                    return zavu.webhook { secret = { "whsec_other_sender", os.getenv("ZAVU_WEBHOOK_SECRET") },
                                          dedupe = "zavu_webhooks", on_event = on_event }
                elseif uri == "/strict" then
                    return zavu.webhook { secret = os.getenv("ZAVU_WEBHOOK_SECRET"), dedupe = "zavu_webhooks",
                                          require_v2 = true, on_event = on_event }
                elseif uri == "/first" then
                    -- a local of this block, used by the handler after the answer
                    -- (a statement, not a tail call: the block is still running
                    -- when webhook answers)
                    local tag = ngx.var.arg_tag
                    zavu.webhook {
                        secret = os.getenv("ZAVU_WEBHOOK_SECRET"), dedupe = "zavu_webhooks", respond = "first",
                        on_event = function(event)
                            ngx.sleep(1)
                            on_event(event)
                            handled:set("tag:" .. event.id, tostring(tag))
                        end,
                    }
                    ngx.log(ngx.INFO, "the content block goes on after webhook")
                    return
                elseif uri == "/misuse" then
                    local ok, msg = pcall(function()
                        local _ = zavu.webhook { secret = "x", on_event = on_event, dedupe = "zavu_webhooks", max_bdoy = 10 }
                    end)
                    local ok2, msg2 = pcall(function()
                        local _ = zavu.webhook { secret = os.getenv("NO_SUCH_VARIABLE"), on_event = on_event }
                    end)
                    local ok3, msg3 = pcall(function()
                        local _ = zavu.webhook { secret = "x", on_event = on_event, dedupe = "no_such_dict" }
                    end)
                    ngx.say(require("cjson").encode { ok and "no error" or msg, ok2 and "no error" or msg2,
                                                      ok3 and "no error" or msg3 })
                    return
                elseif uri == "/count" then
                    local id = ngx.var.arg_id
                    ngx.say(require("cjson").encode {
                        count = handled:get("count:" .. id) or 0,
                        started = handled:get("started:" .. id) or 0,
                        tag = handled:get("tag:" .. id),
                        remembered = ngx.shared.zavu_webhooks:get(id),
                        ttl = ngx.shared.zavu_webhooks:ttl(id),
                    })
                    return
                end
                ngx.exit(404)
            }
        }
        location = /spooled {
            client_body_buffer_size 1k;
            content_by_lua_block {
                return require("zavu.openresty").webhook {
                    secret = os.getenv("ZAVU_WEBHOOK_SECRET"), dedupe = "zavu_webhooks",
                    on_event = function(event) ngx.shared.handled:incr("count:" .. event.id, 1, 0) end,
                }
            }
        }
    }
]]

local function start_nginx()
  local self = { port = H.free_port(), spec_port = H.free_port() }
  self.dir = os.tmpname()
  os.remove(self.dir)
  assert(os.execute("mkdir -p " .. self.dir .. "/logs"))
  local f = assert(io.open(H.root .. "/examples/openresty/webhooks.conf"))
  local conf = f:read("*a")
  f:close()
  local n
  conf, n = conf:gsub("%$prefix/%.%./%.%.", H.root)
  assert(n == 3, "the example's paths changed")
  conf, n = conf:gsub("listen 127%.0%.0%.1:8088;", "listen 127.0.0.1:" .. self.port .. ";")
  assert(n == 1)
  local server = SPEC_SERVER:gsub("SPEC_PORT", self.spec_port)
  conf, n = conf:gsub("\nhttp {\n", function(s) return s .. server .. "\n" end, 1)
  assert(n == 1)
  local user = H.sh("id -u") == "0\n" and "user root;\n" or ""
  f = assert(io.open(self.dir .. "/nginx.conf", "w"))
  f:write(user, conf)
  f:close()
  local _, err, status = H.sh(("ZAVU_WEBHOOK_SECRET=%s timeout 10 nginx -p %s -c nginx.conf"):format(SECRET, self.dir))
  assert(status == 0, "nginx did not start: " .. err)

  function self.signal(sig)
    local _, e, s = H.sh(("timeout 10 nginx -p %s -c nginx.conf -s %s"):format(self.dir, sig))
    assert(s == 0, "nginx -s " .. sig .. ": " .. e)
  end
  function self.master()
    local pf = io.open(self.dir .. "/logs/webhooks.pid")
    local pid = pf and pf:read("*l")
    if pf then pf:close() end
    return pid
  end
  function self.workers()
    local pids = {}
    for pid in H.sh("ps -o pid= --ppid " .. (self.master() or "0")):gmatch("%d+") do
      pids[#pids + 1] = pid
    end
    return pids
  end
  function self.log()
    local lf = io.open(self.dir .. "/logs/error.log")
    local text = lf and lf:read("*a") or ""
    if lf then lf:close() end
    return text
  end
  function self.stop()
    local pid = self.master()
    if pid then
      H.sh("kill " .. pid .. "; for i in $(seq 50); do kill -0 " .. pid .. " 2>/dev/null || break; sleep 0.1; done")
    end
    if os.getenv("ZAVU_SPEC_KEEP") then
      print("kept " .. self.dir)
    else
      H.sh("rm -rf " .. self.dir)
    end
  end
  -- POST body to path (on the spec server unless port is given) with the
  -- signature header (none when nil) -> status, body, seconds taken.
  function self.post(path, body, signature, opts)
    opts = opts or {}
    local file = H.write_tmp(body)
    local args = { "-s", "--max-time", MAX_TIME, "-X", opts.method or "POST", "-o", file .. ".out" }
    args[#args + 1] = "-w '%{http_code} %{time_total}'"
    args[#args + 1] = "-H 'Content-Type: application/json'"
    if signature then args[#args + 1] = "-H 'X-Zavu-Signature: " .. signature .. "'" end
    if opts.chunked then args[#args + 1] = "-H 'Transfer-Encoding: chunked'" end
    args[#args + 1] = "--data-binary @" .. file
    args[#args + 1] = ("'http://127.0.0.1:%d%s'"):format(opts.port or self.spec_port, path)
    local out, curl_err, curl_status = H.sh("curl " .. table.concat(args, " "))
    assert(curl_status == 0, "curl: " .. curl_err)
    local of = io.open(file .. ".out")
    local answer = of and of:read("*a") or ""
    if of then of:close() end
    os.remove(file)
    os.remove(file .. ".out")
    local code, took = out:match("^(%d+) ([%d.]+)$")
    return tonumber(code), answer, tonumber(took)
  end
  function self.count(id)
    local out = H.sh(("curl -s --max-time %d 'http://127.0.0.1:%d/count?id=%s'"):format(MAX_TIME, self.spec_port, id))
    return cjson.decode(out)
  end
  return self
end

-- A signed delivery: its id, body and header.
local function delivery(data, opts)
  opts = opts or {}
  local id = opts.id or ("evt_" .. H.nonce())
  local body = cjson.encode {
    id = id,
    type = "message.inbound",
    timestamp = os.time() * 1000,
    senderId = "sender_spec",
    projectId = "proj_spec",
    data = data or { from = "+14155551234", text = "hello" },
  }
  local header = webhooks.sign(body, opts.secret or SECRET, { t = opts.t or os.time(), scheme = opts.scheme or "v2" })
  return id, body, header
end

-- POST each (path, body, header) at once, one connection each, in the
-- background; returns a function that waits and gives their status codes.
local function post_in_background(base_port, items)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  local args = {}
  for i, it in ipairs(items) do
    local file = ("%s/body.%d"):format(dir, i)
    local f = assert(io.open(file, "wb"))
    f:write(it.body)
    f:close()
    args[#args + 1] = (
      "-s --max-time %d -H 'Connection: close' -H 'X-Zavu-Signature: %s' --data-binary @%s "
      .. "-o /dev/null -w '%d %%{http_code}\\n' 'http://127.0.0.1:%d%s'"
    ):format(MAX_TIME, it.header, file, i, base_port, it.path)
  end
  local out = dir .. "/codes"
  H.sh(
    ("curl -s -Z --parallel-immediate --parallel-max 64 %s > %s 2>/dev/null &"):format(
      table.concat(args, " --next "),
      out
    )
  )
  return function()
    local deadline = H.now() + MAX_TIME + 2
    local text
    repeat
      local f = io.open(out)
      text = f and f:read("*a") or ""
      if f then f:close() end
      local _, n = text:gsub("\n", "")
      if n >= #items then break end
      H.sh("sleep 0.05")
    until H.now() > deadline
    local codes = {}
    for i = 1, #items do
      codes[i] = tonumber(text:match("\n?" .. i .. " (%d+)"))
    end
    H.sh("rm -rf " .. dir)
    return codes
  end
end

local function eventually(cond, seconds)
  local deadline = H.now() + (seconds or 5)
  repeat
    if cond() then return true end
    H.sh("sleep 0.05")
  until H.now() > deadline
  return false
end

describe("require('zavu.openresty').webhook in nginx", function()
  local ngx_

  setup(function() ngx_ = start_nginx() end)
  teardown(function()
    if ngx_ then ngx_.stop() end
  end)

  it("runs the README's receiver (examples/openresty/webhooks.conf) as written", function()
    local f = assert(io.open(H.root .. "/examples/openresty/webhooks.conf"))
    local example = f:read("*a")
    f:close()
    f = assert(io.open(H.root .. "/README.md"))
    local readme = f:read("*a")
    f:close()
    assert.truthy(readme:find("```nginx\n" .. example .. "```\n", 1, true), "README's receiver is not webhooks.conf")
    local id, body, header = delivery { from = "+14155551234", text = "from the README" }
    local code, answer = ngx_.post("/webhooks/zavu", body, header, { port = ngx_.port })
    assert.are.equal(200, code, answer)
    assert.are.same({ ok = true }, cjson.decode(answer))
    assert.matches("zavu: message.inbound " .. id .. " from +14155551234: from the README", ngx_.log(), 1, true)
  end)

  it("handles a signed delivery once, and answers a duplicate 200 without calling on_event", function()
    local id, body, header = delivery()
    local code, answer = ngx_.post("/plain", body, header)
    assert.are.equal(200, code, answer)
    local c = ngx_.count(id)
    assert.are.equal(1, c.count)
    assert.are.equal("handled", c.remembered)
    assert.is_true(c.ttl > 6 * 3600 - 60 and c.ttl <= 6 * 3600, "kept " .. c.ttl .. " s")
    -- Zavu's retries: the same bytes, or the same id signed again later
    code = ngx_.post("/plain", body, header)
    assert.are.equal(200, code)
    local _, body2, header2 = delivery({ text = "retried" }, { id = id, t = os.time() + 1 })
    code = ngx_.post("/plain", body2, header2)
    assert.are.equal(200, code)
    assert.are.equal(1, ngx_.count(id).count)
    assert.are.equal(1, ngx_.count(id).started)
  end)

  it("answers 405 to anything but POST", function()
    local _, body, header = delivery()
    for _, method in ipairs { "GET", "PUT", "DELETE" } do
      local code, answer = ngx_.post("/plain", body, header, { method = method })
      assert.are.equal(405, code, method)
      assert.are.same({ error = "method_not_allowed" }, cjson.decode(answer))
    end
    local out = H.sh(("curl -s -i --max-time %d 'http://127.0.0.1:%d/plain'"):format(MAX_TIME, ngx_.spec_port))
    assert.matches("\r\nAllow: POST\r\n", out, 1, true)
  end)

  it("answers 401 to every signature failure, logged at warn without the secret or the body", function()
    local id, body, header = delivery { from = "+14155550000", text = "a body that must not be logged" }
    local cases = {
      { nil, "missing_signature" },
      { "", "missing_signature" },
      { "t=abc,v2=00", "malformed_signature" },
      { webhooks.sign(body, SECRET, { t = os.time() - 400 }), "timestamp_out_of_range" },
      { webhooks.sign(body, "whsec_someone_else"), "signature_mismatch" },
      { header:gsub("v2=", "v2=0"):sub(1, -2), "signature_mismatch" },
    }
    for _, case in ipairs(cases) do
      local code, answer = ngx_.post("/plain", body, case[1])
      assert.are.equal(401, code, case[2])
      assert.are.same({ error = case[2] }, cjson.decode(answer))
      assert.matches("%[warn%][^\n]*zavu webhook: refused %(" .. case[2] .. "%)", ngx_.log())
    end
    assert.are.equal(401, (ngx_.post("/plain", body .. " ", header)))
    assert.are.equal(0, ngx_.count(id).started)
    local log = ngx_.log()
    assert.is_nil(log:find(SECRET, 1, true), "the secret was logged")
    assert.is_nil(log:find("must not be logged", 1, true), "the body was logged")
  end)

  it("refuses a v1-only delivery where require_v2 is set, and takes a list of secrets", function()
    local id, body = delivery()
    local code = ngx_.post("/strict", body, webhooks.sign(body, SECRET, { scheme = "v1" }))
    assert.are.equal(401, code)
    code = ngx_.post("/strict", body, webhooks.sign(body, SECRET, { scheme = "v1+v2" }))
    assert.are.equal(200, code)
    assert.are.equal(1, ngx_.count(id).count)
    local id2, body2 = delivery()
    code = ngx_.post("/list", body2, webhooks.sign(body2, SECRET, { scheme = "v1" }))
    assert.are.equal(200, code)
    assert.are.equal(1, ngx_.count(id2).count)
  end)

  it("answers 400 to a signed body that is not JSON, or an event without an id", function()
    local code, answer = ngx_.post("/plain", "not json", webhooks.sign("not json", SECRET))
    assert.are.equal(400, code)
    assert.are.same({ error = "invalid_json" }, cjson.decode(answer))
    local body = '{"type":"message.read","data":{}}'
    code, answer = ngx_.post("/plain", body, webhooks.sign(body, SECRET))
    assert.are.equal(400, code)
    assert.are.same({ error = "invalid_event" }, cjson.decode(answer))
  end)

  it("answers 500 when on_event raises, forgets the event, and handles it on the retry", function()
    local id, body, header = delivery { raise_once = true }
    local code, answer = ngx_.post("/plain", body, header)
    assert.are.equal(500, code)
    assert.are.same({ error = "handler_failed" }, cjson.decode(answer))
    assert.are.equal(0, ngx_.count(id).count)
    assert.is_nil(ngx_.count(id).remembered)
    assert.matches(
      "%[error%][^\n]*on_event raised for event " .. id .. "[^\n]*the handler failed on purpose",
      ngx_.log()
    )
    code = ngx_.post("/plain", body, header) -- Zavu's retry
    assert.are.equal(200, code)
    assert.are.equal(1, ngx_.count(id).count)
    assert.are.equal(200, (ngx_.post("/plain", body, header)))
    assert.are.equal(1, ngx_.count(id).count)
  end)

  it("handles two concurrent deliveries of one id once: the second answers 409", function()
    local id, body, header = delivery { sleep = 1 }
    local wait = post_in_background(ngx_.spec_port, {
      { path = "/plain", body = body, header = header },
      { path = "/plain", body = body, header = header },
    })
    local codes = wait()
    table.sort(codes)
    assert.are.same({ 200, 409 }, codes)
    assert.are.equal(1, ngx_.count(id).count)
    assert.are.equal(1, ngx_.count(id).started)
    assert.are.equal(200, (ngx_.post("/plain", body, header))) -- Zavu's later retry
    assert.are.equal(1, ngx_.count(id).count)
  end)

  it("without dedupe, hands every delivery to on_event", function()
    local id, body, header = delivery()
    assert.are.equal(200, (ngx_.post("/nodedupe", body, header)))
    assert.are.equal(200, (ngx_.post("/nodedupe", body, header)))
    assert.are.equal(2, ngx_.count(id).count)
  end)

  it("reads a body nginx spooled to a temporary file", function()
    local id, body, header = delivery { text = ("spooled "):rep(1000) }
    assert.is_true(#body > 4096)
    local code, answer = ngx_.post("/spooled", body, header)
    assert.are.equal(200, code, answer)
    assert.are.equal(1, ngx_.count(id).count)
    assert.matches("a client request body is buffered to a temporary file", ngx_.log(), 1, true)
    code = ngx_.post("/spooled", body .. " ", header)
    assert.are.equal(401, code)
  end)

  it("takes a body of exactly 1 MiB and refuses 1 MiB + 1 with 413, with or without Content-Length", function()
    local id, body = delivery { text = "" }
    body = body:gsub('"text":""', '"text":"' .. ("x"):rep(MIB - #body) .. '"')
    assert.are.equal(MIB, #body)
    local code, answer = ngx_.post("/plain", body, webhooks.sign(body, SECRET))
    assert.are.equal(200, code, answer)
    assert.are.equal(1, ngx_.count(id).count)
    local id2, big = delivery { text = ("y"):rep(MIB) }
    big = big:sub(1, MIB + 1)
    code, answer = ngx_.post("/plain", big, webhooks.sign(big, SECRET))
    assert.are.equal(413, code)
    assert.are.same({ error = "body_too_large" }, cjson.decode(answer))
    code, answer = ngx_.post("/plain", big, webhooks.sign(big, SECRET), { chunked = true })
    assert.are.equal(413, code)
    assert.are.same({ error = "body_too_large" }, cjson.decode(answer))
    assert.are.equal(0, ngx_.count(id2).started)
  end)

  it('answers first with respond = "first", then runs the handler with its locals', function()
    local id, body, header = delivery()
    local code, answer, took = ngx_.post("/first?tag=kept-local", body, header)
    assert.are.equal(200, code, answer)
    assert.is_true(took < 0.8, ("took %.3f s: the handler sleeps 1 s"):format(took))
    assert.are.equal(0, ngx_.count(id).count)
    assert.is_true(eventually(function() return ngx_.count(id).count == 1 end), "the handler never ran")
    assert.are.equal("kept-local", ngx_.count(id).tag)
    assert.are.equal("handled", ngx_.count(id).remembered)
    assert.are.equal(200, (ngx_.post("/first?tag=again", body, header)))
    H.sh("sleep 1.2")
    assert.are.equal(1, ngx_.count(id).count)
    assert.are.equal("kept-local", ngx_.count(id).tag)
  end)

  it("raises misuse at the content block's line: an unknown option, no secret, no such dict", function()
    local out = H.sh(("curl -s --max-time %d 'http://127.0.0.1:%d/misuse'"):format(MAX_TIME, ngx_.spec_port))
    local r = cjson.decode(out)
    local expect = {
      "unknown option 'max_bdoy' to 'webhook' (did you mean 'max_body'?)",
      "bad option 'secret' to 'webhook' (string or list of strings expected, got nil) (from os.getenv?",
      "no lua_shared_dict named 'no_such_dict'",
    }
    for i, text in ipairs(expect) do
      assert.matches(text, r[i], 1, true)
      assert.matches("^content_by_lua%(nginx%.conf:%d+%):%d+: ", r[i])
    end
  end)

  it("answers every delivery in flight across a reload, each handled once", function()
    local old = ngx_.workers()
    assert.are.equal(1, #old)
    local items, ids = {}, {}
    for i = 1, 6 do
      local id, body, header = delivery { sleep = 1 }
      ids[i], items[i] = id, { path = "/plain", body = body, header = header }
    end
    local wait = post_in_background(ngx_.spec_port, items)
    assert.is_true(
      eventually(function()
        for _, id in ipairs(ids) do
          if ngx_.count(id).started < 1 then return false end
        end
        return true
      end),
      "the handlers never started"
    )
    ngx_.signal("reload")
    local codes = wait()
    for i, id in ipairs(ids) do
      assert.are.equal(200, codes[i], id)
      assert.are.equal(1, ngx_.count(id).count, id)
    end
    assert.is_true(eventually(function() return #ngx_.workers() == 1 and ngx_.workers()[1] ~= old[1] end))
    -- after the reload, a retry of each is a duplicate
    for i, id in ipairs(ids) do
      assert.are.equal(200, (ngx_.post("/plain", items[i].body, items[i].header)))
      assert.are.equal(1, ngx_.count(id).count, id)
    end
  end)
end)
