-- zavu.openresty in a real nginx: examples/openresty/nginx.conf, pointed at
-- the mock API, plus a few spec-only locations for the edge cases. Every
-- request is bounded (curl --max-time), so a hang fails in seconds.
local H = require "spec.helper"
local B = require "spec.support.bad_bodies"
local cjson = require "cjson"

local MAX_TIME = 8 -- seconds any one request of these specs may take
local KEY_ONE, KEY_TWO = "zv_live_spec_one_1111", "zv_live_spec_two_2222"

-- Run in the master by the example's init_by_lua_block, before its own code.
local SPEC_INIT = [[
        -- init_by_lua cannot yield: the default client must say so, and the
        -- blocking opt-in must work (its client is then used by forked workers).
        local zavu = require "zavu.openresty"
        local _, err = zavu.sessions.delete("init-nonblocking")
        init_results = { nonblocking_code = err and err.code, nonblocking_text = tostring(err),
                         nonblocking_cause = err and err.details.cause, nonblocking_phase = err and err.details.phase }
        init_client = zavu.new { blocking = true }
        init_results.blocking_ok = init_client.sessions.delete("init-blocking") == true
]]

local SPEC_SERVER = [[
    server {
        listen 127.0.0.1:SPEC_PORT;
        default_type application/json;
        location = /t/init {
            content_by_lua_block {
                init_results.forked_ok = init_client.sessions.delete("init-forked") == true
                ngx.say(require("cjson").encode(init_results))
            }
        }
        location = /t/nopool {
            content_by_lua_block {
                local c = require("zavu.openresty").new { thread_pool = "no_such_pool" }
                local _, err = c.sessions.delete("x")
                ngx.say(require("cjson").encode { code = err.code, cause = err.details.cause, text = tostring(err) })
            }
        }
        location = /t/set {
            set_by_lua_block $cause {
                local _, err = require("zavu.openresty").sessions.delete("x")
                return err and err.code .. " " .. err.details.cause .. " " .. err.details.phase or "none"
            }
            return 200 $cause;
        }
        location = /t/many {
            content_by_lua_block {
                local ids = { "many-a", "missing-many", "many-b", "" }
                local s = require("zavu.openresty").sessions.delete_many(ids, { concurrency = 4 })
                local failed = {}
                for i, f in ipairs(s.failed) do failed[i] = { id = f.id, code = f.error.code, text = tostring(f.error) } end
                ngx.say(require("cjson").encode { ok = s.ok, total = s.total, deleted = s.deleted, failed = failed })
            }
        }
        location = /t/badid {
            content_by_lua_block {
                local ok, msg = pcall(require("zavu.openresty").sessions.delete, {})
                ngx.say(ok and "no error" or msg)
            }
        }
        # Misuse raises at the caller's line, before anything is sent.
        location = /t/misuse {
            content_by_lua_block {
                local zavu = require "zavu.openresty"
                local id = ngx.var.arg_id
                local c = zavu.new()
                local out = {}
                -- (each f calls in a statement, not a tail call, so that the
                -- error's position is its line)
                local function try(name, f)
                    local ok, msg = pcall(f)
                    out[name] = ok and "no error" or tostring(msg)
                end
                try("new_timeout", function() local _ = zavu.new { timeout = "5" } end)
                try("new_blocking", function() local _ = zavu.new { blocking = "yes" } end)
                try("new_pool", function() local _ = zavu.new { thread_pool = 5 } end)
                try("new_key", function() local _ = zavu.new { api_key = function() end } end)
                try("new_not_table", function() local _ = zavu.new("zv_live_x") end)
                try("call_timeout", function() local _ = c.sessions.delete(id, { timeout = "5" }) end)
                try("call_retries", function() local _ = c.sessions.delete(id, { max_retries = -1 }) end)
                try("default_timeout", function() local _ = zavu.sessions.delete(id, { timeout = "5" }) end)
                try("many_concurrency", function() local _ = c.sessions.delete_many({ id }, { concurrency = 0 }) end)
                try("many_progress", function()
                    local _ = c.sessions.delete_many({ id }, { on_progress = function() end })
                end)
                try("many_function_id", function() local _ = c.sessions.delete_many({ id, print }) end)
                try("many_coroutine", function()
                    local _ = c.sessions.delete_many({ id, { coroutine.create(function() end) } }, { timeout = 1 })
                end)
                ngx.say(require("cjson").encode(out))
            }
        }
        # A misspelled name raises at the caller's line, naming the function and the
        # nearest known name; nothing is sent. A number id follows delete's rule.
        location = /t/names {
            content_by_lua_block {
                local zavu = require "zavu.openresty"
                local id, key = ngx.var.arg_id, ngx.var.arg_key
                local c = zavu.new { api_key = key }
                local out = {}
                local function try(name, f)
                    local ok, msg = pcall(f)
                    out[name] = ok and "no error" or tostring(msg)
                end
                local t = { timeuot = 1 }
                try("new", function() local _ = zavu.new { timeuot = 5 } end)
                try("new_pool", function() local _ = zavu.new { thread_poll = "default" } end)
                try("delete", function() local _ = c.sessions.delete(id, t) end)
                try("default_delete", function() local _ = zavu.sessions.delete(id, t) end)
                try("get", function() local _ = c.sessions.get(id, t) end)
                try("link", function() local _ = c.sessions.link(id, "snd_1", t) end)
                try("list", function() local _ = c.sessions.list({}, t) end)
                try("all", function() local _ = c.sessions.all(nil, { max_page = 2 }) end)
                try("many", function() local _ = c.sessions.delete_many({ id }, { concurency = 2 }) end)
                try("wait", function() local _ = c.sessions.wait(id, { timout = 1 }) end)
                try("prune", function() local _ = c.sessions.prune { status = "initializing", dryrun = true } end)
                try("request", function() local _ = c.request("GET", "/v1/whatsapp-alt/proxy-status", t) end)
                try("create", function() local _ = c.sessions.create { displayNam = "x" } end)
                try("egress", function() local _ = c.sessions.set_egress(id, { nodeId = "nd_1" }) end)
                try("limit", function() local _ = c.sessions.list { limit = 0 } end)
                try("node_create", function() local _ = c.egress_nodes.create { label = "x" } end)
                try("delete_table", function() local _ = c.sessions.delete({}) end)
                local number = tonumber(ngx.var.arg_number)
                local _, err = c.sessions.get(number)
                out.number = err and err.status
                local _, bad = c.sessions.get(1.5)
                out.fraction = bad and bad.code
                ngx.say(require("cjson").encode(out))
            }
        }
        # Every method the wrapper lists is there, on new() and the default client.
        location = /t/methods {
            content_by_lua_block {
                local zavu, ngxzavu = require "zavu", require "zavu.openresty"
                local names = zavu.METHODS or { "sessions.delete", "sessions.delete_many" }
                local c, missing = ngxzavu.new(), {}
                for _, name in ipairs(names) do
                    local resource, method = name:match("^(.-)%.?([^.]+)$")
                    for _, where in ipairs { c, ngxzavu } do
                        local t = resource == "" and where or where[resource]
                        if type(t) ~= "table" or type(t[method]) ~= "function" then
                            missing[#missing + 1] = name
                        end
                    end
                end
                ngx.say(require("cjson").encode { count = #names, missing = missing })
            }
        }
        # Two configurations, one after the other in the same worker (and so
        # the same pool VM, taken last-in first-out).
        location = /t/twokeys {
            content_by_lua_block {
                local zavu = require "zavu.openresty"
                local one, two = zavu.new { api_key = "KEY_ONE" }, zavu.new { api_key = "KEY_TWO" }
                local a = one.sessions.delete(ngx.var.arg_a)
                local b = two.sessions.delete(ngx.var.arg_b)
                local c = one.sessions.delete(ngx.var.arg_c)
                local d = two.sessions.delete(ngx.var.arg_d)
                ngx.say(require("cjson").encode { a == true, b == true, c == true, d == true })
            }
        }
        # Three calls at once, the third with a timeout of 0.2 s: with two Lua
        # VMs, it finds none free, waits its timeout for one, then says so. (Not
        # tried: a full thread pool queue - lua-nginx-module before 0.10.32
        # frees a wrong pointer then, and the worker dies.)
        location = /t/crowd {
            content_by_lua_block {
                local c = require("zavu.openresty").new { thread_pool = ngx.var.arg_pool }
                local function call(id, timeout)
                    local ok, err = c.sessions.delete(id, { timeout = timeout, max_retries = 0 })
                    return ok and "ok" or err
                end
                local t1 = ngx.thread.spawn(call, ngx.var.arg_a, 5)
                local t2 = ngx.thread.spawn(call, ngx.var.arg_b, 5)
                local started = ngx.now()
                local _, err = ngx.thread.wait(ngx.thread.spawn(call, ngx.var.arg_c, 0.2))
                ngx.update_time()
                local waited = ngx.now() - started
                local _, r1 = ngx.thread.wait(t1)
                local _, r2 = ngx.thread.wait(t2)
                ngx.say(require("cjson").encode { first = r1, second = r2, waited = waited,
                    code = err.code, cause = err.details.cause, retryable = err.retryable, text = tostring(err) })
            }
        }
        # total_timeout crosses into the pool, per call and as the client's.
        location = /t/total {
            content_by_lua_block {
                local zavu = require "zavu.openresty"
                local t0 = ngx.now()
                local _, e1 = zavu.sessions.delete(ngx.var.arg_a, { total_timeout = 1, max_retries = 5 })
                local _, e2 = zavu.new({ total_timeout = 1, max_retries = 5 }).sessions.get(ngx.var.arg_b)
                ngx.update_time()
                ngx.say(require("cjson").encode { took = ngx.now() - t0, code1 = e1 and e1.code,
                    attempts1 = e1 and e1.attempts, code2 = e2 and e2.code, attempts2 = e2 and e2.attempts })
            }
        }
        # As /t/crowd, the third call bound by total_timeout alone: the wait
        # for a VM counts in it.
        location = /t/crowdtotal {
            content_by_lua_block {
                local c = require("zavu.openresty").new()
                local function call(id, opts)
                    local ok, err = c.sessions.delete(id, opts)
                    return ok and "ok" or err
                end
                local t1 = ngx.thread.spawn(call, ngx.var.arg_a, { timeout = 5, max_retries = 0 })
                local t2 = ngx.thread.spawn(call, ngx.var.arg_b, { timeout = 5, max_retries = 0 })
                local started = ngx.now()
                local _, err = ngx.thread.wait(ngx.thread.spawn(call, ngx.var.arg_c, { total_timeout = 0.3 }))
                ngx.update_time()
                local waited = ngx.now() - started
                ngx.thread.wait(t1)
                ngx.thread.wait(t2)
                ngx.say(require("cjson").encode { waited = waited, code = type(err) == "table" and err.code or err })
            }
        }
        # Three light threads, each deleting its n ids one after another, over
        # a pool of two Lua VMs: one call is always waiting, and a call that
        # ends must hand its VM on at once, not at the waiter's next poll.
        location = /t/relay {
            content_by_lua_block {
                local c = require("zavu.openresty").new()
                local n, tag = tonumber(ngx.var.arg_n), ngx.var.arg_tag
                local function run(t)
                    local deleted = 0
                    for i = 1, n do
                        if c.sessions.delete(("relay-%s-%d-%d"):format(tag, t, i)) == true then
                            deleted = deleted + 1
                        end
                    end
                    return deleted
                end
                ngx.update_time()
                local started, threads, deleted = ngx.now(), {}, 0
                for t = 1, 3 do threads[t] = ngx.thread.spawn(run, t) end
                for t = 1, 3 do deleted = deleted + select(2, ngx.thread.wait(threads[t])) end
                ngx.update_time()
                ngx.say(require("cjson").encode { deleted = deleted, took = ngx.now() - started })
            }
        }
        # A call whose request goes away: ngx.exit kills the light thread that
        # waits for it, whose coroutine is then dropped, never resumed.
        location = /t/abandon {
            content_by_lua_block {
                ngx.thread.spawn(function() require("zavu.openresty").sessions.delete(ngx.var.arg_id) end)
                ngx.say("{}")
                ngx.exit(200)
            }
        }
        location = /t/timer {
            content_by_lua_block {
                local ok, err = ngx.timer.at(3600, function() end)
                ngx.say(require("cjson").encode { ok = ok, err = err })
            }
        }
        # Calls given as JSON ({ name, args... } each) on a client with the
        # key given: what each answered ("invalid_response", "true" for true
        # or an ok summary, "a value" for anything else).
        location = /t/answers {
            content_by_lua_block {
                local cjson = require "cjson"
                local args = ngx.req.get_uri_args()
                local c = require("zavu.openresty").new { api_key = args.key, max_retries = 0 }
                local out = {}
                for _, call in ipairs(cjson.decode(args.calls)) do
                    local name = call[1]
                    local resource, method = name:match("^(.-)%.?([^.]+)$")
                    local f = resource == "" and c[method] or c[resource][method]
                    local v, err = f(unpack(call, 2, table.maxn(call)))
                    out[name] = v == nil and (err and err.code or "nil, nil")
                        or (v == true or (type(v) == "table" and v.ok == true)) and "true" or "a value"
                end
                ngx.say(cjson.encode(out))
            }
        }
        # Messages and senders through the thread pool, with a key of the spec's.
        location = /t/messaging {
            content_by_lua_block {
                local zavu = require "zavu.openresty"
                local args = ngx.req.get_uri_args()
                local n = args.nonce
                local c = zavu.new { api_key = args.key, sender = args.sender }
                local out = {}
                local function call(f, ...)
                    local v, err = f(...)
                    if v then return v end
                    return { code = err.code, status = err.status, attempts = err.attempts, details = err.details,
                             text = tostring(err) }
                end
                -- a send whose answer is lost after the API stored it: one message
                out.lost = call(c.messages.send, { to = "lose-1-close-" .. n, text = "once" })
                out.own_key = call(c.messages.send, { to = "mine-" .. n, text = "k", idempotencyKey = "key-" .. n })
                out.reused = call(c.messages.send, { to = "mine-" .. n, text = "k", idempotencyKey = "key-" .. n },
                                  { max_retries = 2 })
                out.conflict = call(c.messages.send, { to = "conflict-" .. n, text = "x" }, { max_retries = 2 })
                out.header = call(c.messages.send, { to = "echo-" .. n, text = "x" })
                local s = c.senders.create { name = "Hook " .. n, webhookUrl = "https://example.com/h" }
                out.sender = s
                out.secret = call(c.senders.regenerate_webhook_secret, s.id)
                out.cleared = call(c.senders.update, s.id, { webhookUrl = zavu.null })
                out.flat = call(c.messages.get, "missing-" .. n)
                out.nested = call(c.messages.get, "legacy-" .. n)
                out.listed = call(c.messages.all, { limit = 1 })
                local ok, msg = pcall(function() local _ = c.messages.send { to = "+1", txt = "x" } end)
                out.typo = ok and "no error" or msg
                ok, msg = pcall(function() local _ = c.senders.update(s.id, { webhookUrl = 5 }) end)
                out.wrong_type = ok and "no error" or msg
                out.default_send = type(zavu.messages.send) == "function" and type(zavu.senders.update) == "function"
                ngx.say(require("cjson").encode(out))
            }
        }
        location = /t/paths {
            content_by_lua_block {
                ngx.say(require("cjson").encode { path = package.path, cpath = package.cpath })
            }
        }
    }
]]

-- The example's configuration with the spec's additions, in a fresh prefix;
-- `edit(conf)` may change it further. Started with `env` in its environment.
local function start_nginx(edit, env)
  local self = { port = H.free_port(), spec_port = H.free_port() }
  self.dir = os.tmpname()
  os.remove(self.dir)
  assert(os.execute("mkdir -p " .. self.dir .. "/logs"))
  local f = assert(io.open(H.root .. "/examples/openresty/nginx.conf"))
  local conf = f:read("*a")
  f:close()
  local server = SPEC_SERVER:gsub("SPEC_PORT", self.spec_port):gsub("KEY_ONE", KEY_ONE):gsub("KEY_TWO", KEY_TWO)
  local n
  conf, n = conf:gsub("%$prefix/%.%./%.%.", H.root)
  assert(n == 3, "the example's paths changed")
  conf, n = conf:gsub("listen 127%.0%.0%.1:8080;", "listen 127.0.0.1:" .. self.port .. ";")
  assert(n == 1)
  conf, n = conf:gsub("\n    init_by_lua_block {\n", function(s) return s .. SPEC_INIT end, 1)
  assert(n == 1, "the example has no init_by_lua_block")
  conf, n = conf:gsub("\nhttp {\n", function(s) return s .. server .. "\n" end, 1)
  assert(n == 1)
  if edit then conf = edit(conf) end
  local user = H.sh("id -u") == "0\n" and "user root;\n" or ""
  f = assert(io.open(self.dir .. "/nginx.conf", "w"))
  f:write(user, conf)
  f:close()
  local _, err, status = H.sh(
    ("%sZAVUDEV_API_KEY=%s ZAVUDEV_BASE_URL=%s timeout 10 nginx -p %s -c nginx.conf"):format(
      H.env_prefix(env),
      H.key,
      H.http_url,
      self.dir
    )
  )
  assert(status == 0, "nginx did not start: " .. err)
  self.base = "http://127.0.0.1:" .. self.port

  function self.signal(sig) -- reload, quit
    local _, e, s = H.sh(("timeout 10 nginx -p %s -c nginx.conf -s %s"):format(self.dir, sig))
    assert(s == 0, "nginx -s " .. sig .. ": " .. e)
  end
  function self.master()
    local pf = io.open(self.dir .. "/logs/nginx.pid")
    local pid = pf and pf:read("*l")
    if pf then pf:close() end
    return pid
  end
  function self.workers()
    local out = H.sh("ps -o pid= --ppid " .. (self.master() or "0"))
    local pids = {}
    for pid in out:gmatch("%d+") do
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
    -- ZAVU_SPEC_KEEP=1 keeps the prefix (conf, error.log) for a look
    if os.getenv("ZAVU_SPEC_KEEP") then
      print("kept " .. self.dir)
    else
      H.sh("rm -rf " .. self.dir)
    end
  end
  -- method path [port] -> status, body
  function self.request(method, path, on_port)
    local url = "http://127.0.0.1:" .. (on_port or self.port) .. path
    local out, err, status = -- luacheck: ignore 431
      H.sh(("curl -s --max-time %d -X %s -w '\\n%%{http_code}' '%s'"):format(MAX_TIME, method, url))
    assert.are.equal(0, status, err)
    local body, code = out:match("^(.*)\n(%d+)$")
    return tonumber(code), body
  end
  function self.spec(path) -- GET on the spec-only server -> decoded JSON
    local code, body = self.request("GET", path, self.spec_port)
    assert.are.equal(200, code, body)
    return cjson.decode(body)
  end
  return self
end

-- DELETE each id at once (one curl, all in parallel, one connection each:
-- curl would silently send a request again on a reused connection that
-- closes) in the background; returns a function that waits and gives
-- { [id] = { code, body } }.
local function delete_in_background(base, ids)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  local args = {}
  for i, id in ipairs(ids) do
    args[#args + 1] = (
      "-s --max-time %d -H 'Connection: close' -X DELETE -o %s/body.%d -w '%s %%{http_code}\\n' "
      .. "'%s/sessions/%s'"
    ):format(MAX_TIME, dir, i, id, base, id)
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
      if n >= #ids then break end
      H.sh("sleep 0.05")
    until H.now() > deadline
    local results = {}
    for i, id in ipairs(ids) do
      local f = io.open(dir .. "/body." .. i)
      local body = f and f:read("*a") or ""
      if f then f:close() end
      results[id] = { code = tonumber(text:match(id:gsub("%-", "%%-") .. " (%d+)")), body = body }
    end
    H.sh("rm -rf " .. dir)
    return results
  end
end

-- Wait (bounded) until the mock has seen every id: the calls are in flight.
local function wait_seen(ids)
  local deadline = H.now() + 5
  for _, id in ipairs(ids) do
    while (H.info(id).hits or 0) < 1 do
      assert(H.now() < deadline, "the mock never saw " .. id)
      H.sh("sleep 0.02")
    end
  end
end

local function assert_all_answered(ids, results)
  for _, id in ipairs(ids) do
    local r = results[id]
    assert.are.equal(200, r.code, id .. ": " .. tostring(r.code) .. " " .. r.body)
    assert.are.same({ deleted = id }, cjson.decode(r.body))
    assert.are.equal(1, H.info(id).hits)
  end
end

-- Wait (bounded) until none of pids runs any more.
local function gone(pids, seconds)
  local deadline = H.now() + seconds
  repeat
    local alive = false
    for _, pid in ipairs(pids) do
      local _, _, s = H.sh("kill -0 " .. pid)
      if s == 0 then alive = true end
    end
    if not alive then return true end
    H.sh("sleep 0.05")
  until H.now() > deadline
  return false
end

describe("zavu.openresty in nginx", function()
  local ngx_, request

  setup(function()
    -- A LUA_PATH and LUA_CPATH in nginx's environment (another Lua's modules)
    -- must not reach its Lua.
    ngx_ = start_nginx(nil, { LUA_PATH = "/inherited-lua-path/?.lua;;", LUA_CPATH = "/inherited-lua-cpath/?.so;;" })
    request = ngx_.request
  end)

  teardown(function()
    if ngx_ then ngx_.stop() end
  end)

  it("deletes a session through the thread pool and answers JSON", function()
    local id = "nginx-" .. H.nonce()
    local code, body = request("DELETE", "/sessions/" .. id)
    assert.are.equal(200, code, body)
    assert.are.same({ deleted = id }, cjson.decode(body))
    assert.are.equal(1, H.info(id).hits)
  end)

  it("brings error tables back intact, with their tostring, logged as a warning", function()
    local code, body = request("DELETE", "/sessions/details-" .. H.nonce())
    assert.are.equal(422, code)
    local r = cjson.decode(body)
    assert.are.equal(422, r.error.status)
    assert.are.equal("session_busy", r.error.code)
    assert.are.equal("Session is linking", r.error.message)
    assert.are.same({ state = "linking", retry_in = 5 }, r.error.details)
    assert.matches("^req_%x+$", r.error.request_id)
    assert.are.equal(false, r.error.retryable)
    assert.are.equal(1, r.error.attempts)
    assert.are.equal(
      "zavu: session_busy (HTTP 422): Session is linking [request_id=" .. r.error.request_id .. "]",
      r.text
    )
    -- ngx.log(level, err) prints the sentence; a 4xx is below error
    assert.matches("%[warn%][^\n]*zavu: session_busy %(HTTP 422%)", ngx_.log())
  end)

  it("answers a missing session 404, logged below warn", function()
    local id = "missing-" .. H.nonce()
    local code, body = request("DELETE", "/sessions/" .. id)
    assert.are.equal(404, code)
    assert.are.equal("session_not_found", cjson.decode(body).error.code)
    assert.is_nil(ngx_.log():find(id, 1, true)) -- logged at info; error_log says warn
  end)

  it("reports transport errors the same way, logged as errors", function()
    local code, body = request("DELETE", "/sessions/garbage-" .. H.nonce())
    assert.are.equal(502, code)
    local r = cjson.decode(body)
    assert.are.equal("invalid_response", r.error.code)
    assert.is_nil(r.error.status)
    assert.matches("%[error%][^\n]*zavu: invalid_response", ngx_.log())
  end)

  it("answers nil, invalid_response for each bad 2xx body on every method; the deletes true", function()
    local key = "zv_live_ans_ngx_" .. H.nonce()
    local function run(calls)
      return ngx_.spec(("/t/answers?key=%s&calls=%s"):format(key, H.escape(cjson.encode(calls))))
    end
    H.mock_answer(key, B.GOOD) -- the right body first: every method takes it
    local good = run(B.CALLS)
    for _, call in ipairs(B.CALLS) do
      assert.is_truthy(good[call[1]] == "a value" or good[call[1]] == "true", call[1] .. ": " .. good[call[1]])
    end
    for what, body in pairs(B.BAD) do
      H.mock_answer(key, body)
      local r = run(B.CALLS)
      for _, call in ipairs(B.CALLS) do
        assert.are.equal("invalid_response", r[call[1]], what .. ": " .. call[1])
      end
      local d = run(B.DELETES)
      for _, call in ipairs(B.DELETES) do
        assert.are.equal("true", d[call[1]], what .. ": " .. call[1])
      end
    end
  end)

  it("answers JSON for an empty id, an encoded slash and another method, and decodes an id once", function()
    for _, path in ipairs { "/sessions/", "/sessions/a%2Fb", "/sessions/a/b" } do
      local code, body = request("DELETE", path)
      assert.are.equal(400, code, path)
      assert.are.equal("invalid_argument", cjson.decode(body).error.code, path)
    end
    local code, body = request("GET", "/sessions/x")
    assert.are.equal(405, code)
    assert.are.equal("method_not_allowed", cjson.decode(body).error.code)
    local id = "once-" .. H.nonce()
    code, body = request("DELETE", "/sessions/" .. id .. "%2541%20b") -- id .. "%41 b"
    assert.are.equal(200, code, body)
    assert.are.same({ deleted = id .. "%41 b" }, cjson.decode(body))
    assert.are.equal(1, H.info(id .. "%41 b").hits)
  end)

  it("runs 20 concurrent 200 ms deletes side by side, not one after another", function()
    local urls, ids = {}, {}
    for i = 1, 20 do
      ids[i] = "slow-200-" .. H.nonce()
      urls[i] = "'" .. ngx_.base .. "/sessions/" .. ids[i] .. "'"
    end
    local t = H.now()
    local out, err, status = H.sh(
      "curl -s -Z --parallel-max 20 --max-time 8 -X DELETE -o /dev/null "
        .. "-w '%{http_code}\\n' "
        .. table.concat(urls, " ")
    )
    local took = H.now() - t
    assert.are.equal(0, status, err)
    local _, n200 = out:gsub("200\n", "")
    assert.are.equal(20, n200, out)
    for i = 1, 20 do
      assert.are.equal(1, H.info(ids[i]).hits)
    end
    -- A blocking worker would take 20 x 200 ms = 4 s.
    assert.is_true(took < 1.5, "took " .. took .. " s")
  end)

  it("keeps answering other requests while deletes are in flight", function()
    local urls = {}
    for i = 1, 5 do
      urls[i] = "'" .. ngx_.base .. "/sessions/slow-1500-" .. H.nonce() .. "'"
    end
    local out = H.sh(([[
      curl -s -Z --max-time 8 -X DELETE -o /dev/null -w 'delete %%{http_code} %%{time_total}\n' %s > %s/deletes & pid=$!
      sleep 0.3
      curl -s --max-time 8 -o /dev/null -w 'health %%{http_code} %%{time_total}\n' '%s/health'
      wait $pid
      cat %s/deletes
    ]]):format(table.concat(urls, " "), ngx_.dir, ngx_.base, ngx_.dir))
    local health_code, health_time = out:match("health (%d+) ([%d.]+)")
    assert.are.equal("200", health_code, out)
    assert.is_true(tonumber(health_time) < 0.5, out)
    local n = 0
    for code, took in out:gmatch("delete (%d+) ([%d.]+)") do
      n = n + 1
      assert.are.equal("200", code)
      assert.is_true(tonumber(took) >= 1.4, out) -- still in flight when health answered
    end
    assert.are.equal(5, n, out)
  end)

  it("says which cause when no thread pool is there, with the advice for it", function()
    local r = ngx_.spec("/t/nopool")
    assert.are.equal("worker_thread_unavailable", r.code)
    assert.are.equal("no_pool", r.cause)
    assert.matches('no thread pool named "no_such_pool"', r.text, 1, true)
    assert.matches("thread_pool no_such_pool threads=", r.text, 1, true)
  end)

  it("says which cause when the phase cannot yield, and blocking mode works there", function()
    local _, text = request("GET", "/t/set", ngx_.spec_port)
    assert.are.equal("worker_thread_unavailable phase set", text)
    local r = ngx_.spec("/t/init")
    assert.are.equal("worker_thread_unavailable", r.nonblocking_code)
    assert.are.equal("phase", r.nonblocking_cause)
    assert.are.equal("init", r.nonblocking_phase)
    assert.matches("init phase, which cannot yield", r.nonblocking_text, 1, true)
    assert.matches("blocking = true", r.nonblocking_text, 1, true)
    assert.is_true(r.blocking_ok)
    assert.is_true(r.forked_ok) -- the master's client, used in a forked worker
  end)

  it("runs delete_many in the thread pool, error tables restored", function()
    local r = ngx_.spec("/t/many")
    assert.are.same({ "many-a", "many-b" }, r.deleted)
    assert.are.equal(false, r.ok)
    assert.are.equal(4, r.total)
    assert.are.same({ "missing-many", "" }, { r.failed[1].id, r.failed[2].id })
    assert.are.same({ "session_not_found", "invalid_argument" }, { r.failed[1].code, r.failed[2].code })
    assert.matches("^zavu: session_not_found %(HTTP 404%)", r.failed[1].text)
  end)

  it("bounds calls by total_timeout, given per call or to new()", function()
    local a, b = "ratelimit-5-700-" .. H.nonce(), "ratelimit-5-700-" .. H.nonce()
    local r = ngx_.spec(("/t/total?a=%s&b=%s"):format(a, b))
    assert.are.same({ "timeout", 2, "timeout", 2 }, { r.code1, r.attempts1, r.code2, r.attempts2 })
    assert.is_true(r.took < 4, "took " .. r.took)
  end)

  it("raises for a wrong id type, like the plain module", function()
    local _, body = request("GET", "/t/badid", ngx_.spec_port)
    assert.matches("bad argument #1 to 'delete'", body, 1, true)
  end)

  it("raises misuse at the caller's line, sending nothing", function()
    local id = "misuse-" .. H.nonce()
    local r = ngx_.spec("/t/misuse?id=" .. id)
    local expect = {
      new_timeout = "bad option 'timeout'",
      new_blocking = "bad option 'blocking' (boolean expected, got string)",
      new_pool = "bad option 'thread_pool'",
      new_key = "bad option 'api_key' (string expected, got function)",
      new_not_table = "bad argument #1 to 'new' (table expected, got string)",
      call_timeout = "bad option 'timeout'",
      call_retries = "bad option 'max_retries'",
      default_timeout = "bad option 'timeout'",
      many_concurrency = "bad option 'concurrency'",
      many_progress = "on_progress (a function) cannot cross into nginx's thread pool",
      many_function_id = "argument #1 to 'delete_many'[2] (a function) cannot cross into nginx's thread pool",
      many_coroutine = "'delete_many'[2][1] (a thread) cannot cross into nginx's thread pool",
    }
    for name, text in pairs(expect) do
      local msg = r[name]
      assert.is_string(msg, name)
      assert.matches(text, msg, 1, true)
      -- at the line in the handler that made the call, not inside zavu
      assert.matches("^content_by_lua%(nginx%.conf:%d+%):%d+: ", msg, nil, false, name .. ": " .. msg)
      assert.is_nil(msg:find("worker_thread_unavailable", 1, true), name)
    end
    assert.is_nil(H.info(id).hits)
  end)

  it("refuses a misspelled option, body field or query parameter at the caller's line, sending nothing", function()
    local id, key = "names-" .. H.nonce(), "zv_live_names_" .. H.nonce()
    local number = H.pid() * 1e9 + (os.time() % 100000) * 1e4 + 1
    H.mock_seed(key, 2, { status = "initializing" })
    local r = ngx_.spec(("/t/names?id=%s&key=%s&number=%d"):format(id, key, number))
    local function typo(fname) return ("unknown option 'timeuot' to '%s' (did you mean 'timeout'?)"):format(fname) end
    local expect = {
      new = typo "new",
      new_pool = "unknown option 'thread_poll' to 'new' (did you mean 'thread_pool'?)",
      delete = typo "delete",
      default_delete = typo "delete",
      get = typo "get",
      link = typo "link",
      list = typo "list",
      request = typo "request",
      all = "unknown option 'max_page' to 'all' (did you mean 'max_pages'?)",
      many = "unknown option 'concurency' to 'delete_many' (did you mean 'concurrency'?)",
      wait = "unknown option 'timout' to 'wait' (did you mean 'timeout'?)",
      prune = "unknown option 'dryrun' to 'prune' (did you mean 'dry_run'?)",
      create = "unknown body field 'displayNam' to 'create' (did you mean 'displayName'?)",
      egress = "missing body field 'egress.kind' to 'set_egress' (string required)",
      limit = "bad query parameter 'limit' to 'list' (integer 1..100 expected, got 0)",
      node_create = "missing body field 'senderId' to 'create' (string required)",
      delete_table = "bad argument #1 to 'delete' (string expected for sessionId, got table)",
    }
    for name, text in pairs(expect) do
      local msg = r[name]
      assert.is_string(msg, name)
      assert.are.equal(text, (msg:gsub("^[^\n]-:%d+: ", "")), name)
      assert.matches("^content_by_lua%(nginx%.conf:%d+%):%d+: ", msg, nil, false, name .. ": " .. msg)
    end
    assert.is_nil(H.info(id).hits)
    -- a number id is sent as its digits; one without them is invalid_argument, sent nowhere
    assert.are.equal(404, r.number)
    assert.are.equal(1, H.info(("%d"):format(number)).hits)
    assert.are.equal("invalid_argument", r.fraction)
    assert.are.equal(1, H.key_hits(key)) -- the number's get, and nothing else
  end)

  it("sends messages and changes senders through the pool: retried with one key, never twice", function()
    local n, key = H.nonce(), "zv_live_msg_" .. H.nonce()
    local plain = require("zavu").new { api_key = key, base_url = H.http_url }
    local default = assert(plain.senders.create { name = "Default " .. n }).id
    local r = ngx_.spec(("/t/messaging?nonce=%s&key=%s&sender=%s"):format(n, key, default))
    local mine = {}
    for _, m in ipairs(H.mock_messages(key)) do
      mine[m.to] = (mine[m.to] or 0) + 1
    end
    assert.is_string(r.lost.id, r.lost.text) -- the lost answer: the retry's 409 is the first attempt's success
    assert.are.equal(1, mine["lose-1-close-" .. n])
    assert.are.equal(2, H.mock_hits("lose-1-close-" .. n))
    assert.is_string(r.own_key.id)
    assert.are.equal(409, r.reused.status) -- the caller's key, used before: an error, not retried
    assert.are.equal(1, r.reused.attempts)
    assert.are.equal("key-" .. n, r.reused.details.idempotencyKey)
    assert.are.equal(r.own_key.id, r.reused.details.message.id)
    assert.are.equal(1, mine["mine-" .. n])
    assert.are.equal(1, r.conflict.attempts)
    assert.are.equal(1, H.mock_hits("conflict-" .. n))
    assert.is_string(r.conflict.details.idempotencyKey)
    local echoed = H.info("echo-" .. n)
    assert.are.equal(default, echoed.headers["zavu-sender"])
    assert.matches('"idempotencyKey":"%x+"', echoed.body)
    assert.matches("^whsec_", r.sender.webhook.secret)
    assert.are.equal('{"webhookUrl":null}', H.mock_last_raw_body(r.sender.id)) -- zavu.null crossed the pool
    assert.is_nil(r.cleared.webhook)
    assert.matches("^whsec_", r.secret.secret)
    assert.are.equal(404, r.flat.status)
    assert.are.equal("legacy_not_found", r.nested.code) -- {"error": {...}} and {code, message} alike
    assert.are.equal(404, r.nested.status)
    assert.are.equal(2, #r.listed) -- the lost one and the own key's: nothing else was stored
    assert.is_true(r.default_send)
    assert.matches(":%d+: unknown body field 'txt' to 'send' %(did you mean 'text'%?%)$", r.typo)
    assert.matches(":%d+: bad body field 'webhookUrl' to 'update' %(string expected, got number%)$", r.wrong_type)
  end)

  it("offers every method the wrapper lists, on new() and the default client", function()
    local r = ngx_.spec("/t/methods")
    assert.is_true(r.count >= 2)
    assert.are.same({}, r.missing)
  end)

  it("keeps two configurations apart in one worker thread", function()
    local ids = {}
    for i = 1, 4 do
      ids[i] = "key" .. i .. "-" .. H.nonce()
    end
    local r = ngx_.spec(("/t/twokeys?a=%s&b=%s&c=%s&d=%s"):format(ids[1], ids[2], ids[3], ids[4]))
    assert.are.same({ true, true, true, true }, r)
    local keys = { KEY_ONE, KEY_TWO, KEY_ONE, KEY_TWO }
    for i = 1, 4 do
      assert.are.equal("Bearer " .. keys[i], H.info(ids[i]).headers.authorization)
    end
  end)

  it("takes no module from the LUA_PATH or LUA_CPATH nginx was started with", function()
    local r = ngx_.spec("/t/paths")
    assert.is_nil(r.path:find("inherited", 1, true), r.path)
    assert.is_nil(r.cpath:find("inherited", 1, true), r.cpath)
    assert.matches(H.root .. "/build/luajit/?.so", r.cpath, 1, true)
  end)

  it("lets a shutting-down worker exit when a request left its call behind", function()
    local old = ngx_.workers()
    local id = "slow-1500-" .. H.nonce()
    ngx_.spec("/t/abandon?id=" .. id)
    wait_seen({ id })
    local t = H.now()
    ngx_.signal("reload")
    -- the worker waits for the thread still running the call (its own
    -- timeout bounds it), not for an answer nobody will take
    assert.is_true(gone(old, 5), "the old worker is still running")
    assert.is_true(H.now() - t < 3.5, "took " .. (H.now() - t) .. " s")
  end)

  it("answers every request in flight across a reload, and the old worker then exits", function()
    local old = ngx_.workers()
    assert.are.equal(1, #old)
    local ids = {}
    for i = 1, 10 do
      ids[i] = "slow-1200-" .. H.nonce()
    end
    local wait = delete_in_background(ngx_.base, ids)
    wait_seen(ids)
    ngx_.signal("reload")
    local results = wait()
    assert_all_answered(ids, results)
    assert.is_true(gone(old, 3), "the old worker is still running")
    local log = ngx_.log()
    assert.is_nil(log:find("open socket", 1, true), log)
    assert.is_nil(log:find("aborting", 1, true), log)
    -- and the new worker serves
    local id = "after-reload-" .. H.nonce()
    local code, body = request("DELETE", "/sessions/" .. id)
    assert.are.equal(200, code, body)
  end)

  it("answers every request in flight when nginx quits, then exits", function()
    local master = ngx_.master()
    local ids = {}
    for i = 1, 10 do
      ids[i] = "slow-1200-" .. H.nonce()
    end
    local wait = delete_in_background(ngx_.base, ids)
    wait_seen(ids)
    ngx_.signal("quit")
    local results = wait()
    assert_all_answered(ids, results)
    assert.is_true(gone({ master }, 3), "nginx did not exit")
    local log = ngx_.log()
    assert.is_nil(log:find("open socket", 1, true), log)
    assert.is_nil(log:find("aborting", 1, true), log)
  end)
end)

-- Two Lua VMs per worker; and no Lua timer to spare (one pending timer
-- allowed, taken at start), so the keeper's watcher cannot be made and each
-- call keeps the worker with a light thread of its own.
describe("zavu.openresty with a pool of 2 Lua VMs and no timer to spare", function()
  local ngx_

  setup(function()
    ngx_ = start_nginx(function(conf)
      local out, n = conf:gsub(
        "lua_worker_thread_vm_pool_size 32;",
        "lua_worker_thread_vm_pool_size 2;\n"
          .. "    lua_max_pending_timers 1;\n"
          .. "    init_worker_by_lua_block { assert(ngx.timer.at(86400, function() end)) }"
      )
      assert(n == 1)
      return out
    end)
  end)

  teardown(function()
    if ngx_ then ngx_.stop() end
  end)

  it("runs 20 concurrent deletes two at a time, each waiting its turn: all succeed", function()
    local tag = "vm" .. H.nonce():gsub("%W", "")
    local ids = {}
    for i = 1, 20 do
      ids[i] = ("par-100-%s-%d"):format(tag, i)
    end
    local t = H.now()
    local results = delete_in_background(ngx_.base, ids)()
    local took = H.now() - t
    assert_all_answered(ids, results)
    assert.are.equal(2, H.max_in_flight(tag)) -- no more than the VMs at once
    assert.is_true(took >= 0.9 and took < 4, "took " .. took .. " s") -- 10 rounds of 100 ms
    assert.is_nil(ngx_.log():find("no available Lua vm", 1, true))
  end)

  it("hands a VM to the call that waits for it as soon as another call ends", function()
    -- 30 calls through 2 VMs with one call always waiting: woken when a VM is
    -- freed, they take about 15 round trips (10 ms on this mock); waiters
    -- left to their 50 ms poll take half a second.
    local r = ngx_.spec("/t/relay?n=10&tag=" .. H.nonce())
    assert.are.equal(30, r.deleted)
    assert.is_true(r.took < 0.25, ("30 deletes took %.3f s"):format(r.took))
  end)

  it("says which cause when no VM comes free within the call's timeout", function()
    local a, b, c = "slow-600-" .. H.nonce(), "slow-600-" .. H.nonce(), "novm-" .. H.nonce()
    local r = ngx_.spec(("/t/crowd?pool=default&a=%s&b=%s&c=%s"):format(a, b, c))
    assert.are.same({ "ok", "ok" }, { r.first, r.second })
    assert.are.equal("worker_thread_unavailable", r.code)
    assert.are.equal("no_vm", r.cause)
    assert.is_true(r.retryable)
    assert.matches("no Lua VM for a worker thread came free within", r.text, 1, true)
    assert.matches("lua_worker_thread_vm_pool_size", r.text, 1, true)
    assert.is_nil(r.text:find("add `thread_pool", 1, true)) -- not the advice for a missing pool
    assert.is_true(r.waited >= 0.18 and r.waited < 0.5, "waited " .. r.waited)
    assert.is_nil(H.info(c).hits)
  end)

  it("counts the wait for a VM in total_timeout", function()
    local a, b, c = "slow-1500-" .. H.nonce(), "slow-1500-" .. H.nonce(), "novm-" .. H.nonce()
    local r = ngx_.spec(("/t/crowdtotal?a=%s&b=%s&c=%s"):format(a, b, c))
    assert.are.equal("worker_thread_unavailable", r.code)
    assert.is_true(r.waited >= 0.28 and r.waited < 1.2, "waited " .. r.waited)
    assert.is_nil(H.info(c).hits)
  end)

  it("answers every request in flight across a reload all the same", function()
    local old = ngx_.workers()
    local ids = { "slow-1000-" .. H.nonce(), "slow-1000-" .. H.nonce() }
    local wait = delete_in_background(ngx_.base, ids)
    wait_seen(ids)
    ngx_.signal("reload")
    assert_all_answered(ids, wait())
    assert.is_true(gone(old, 3), "the old worker is still running")
    assert.matches("too many pending timers", ngx_.spec("/t/timer").err, 1, true) -- the watcher could not be made
  end)
end)
