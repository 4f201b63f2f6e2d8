-- zavu.openresty in a real nginx: examples/openresty/nginx.conf, pointed at
-- the mock API, plus a few spec-only locations for the edge cases.
local H = require "spec.helper"
local cjson = require "cjson"

local SPEC_ONLY = [[
    init_by_lua_block {
        -- init_by_lua cannot yield: the default client must say so, and the
        -- blocking opt-in must work (its client is then used by forked workers).
        local zavu = require "zavu.openresty"
        local _, err = zavu.sessions.delete("init-nonblocking")
        init_results = { nonblocking_code = err and err.code, nonblocking_text = tostring(err) }
        init_client = zavu.new { blocking = true }
        init_results.blocking_ok = init_client.sessions.delete("init-blocking") == true
    }
    server {
        listen 127.0.0.1:SPEC_PORT;
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
                ngx.say(require("cjson").encode { code = err.code, text = tostring(err) })
            }
        }
        location = /t/set {
            set_by_lua_block $code {
                local _, err = require("zavu.openresty").sessions.delete("x")
                return err and err.code or "none"
            }
            return 200 $code;
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
    }
]]

describe("zavu.openresty in nginx", function()
  local dir, port, spec_port, base

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/logs"))
    port, spec_port = H.free_port(), H.free_port()
    local f = assert(io.open(H.root .. "/examples/openresty/nginx.conf"))
    local conf = f:read("*a")
    f:close()
    conf = conf:gsub("%$prefix/%.%./%.%.", H.root)
      :gsub("listen 127%.0%.0%.1:8080;", "listen 127.0.0.1:" .. port .. ";")
      :gsub("\nhttp {\n", "\nhttp {\n" .. SPEC_ONLY:gsub("SPEC_PORT", spec_port) .. "\n", 1)
    local user = H.sh("id -u") == "0\n" and "user root;\n" or ""
    f = assert(io.open(dir .. "/nginx.conf", "w"))
    f:write(user, conf)
    f:close()
    local _, err, status = H.sh(("ZAVUDEV_API_KEY=%s ZAVUDEV_BASE_URL=%s nginx -p %s -c nginx.conf")
      :format(H.key, H.http_url, dir))
    assert(status == 0, "nginx did not start: " .. err)
    base = "http://127.0.0.1:" .. port
  end)

  teardown(function()
    H.sh("kill $(cat " .. dir .. "/logs/nginx.pid); sleep 0.2; rm -rf " .. dir)
  end)

  local function request(method, path, on_port)
    local url = "http://127.0.0.1:" .. (on_port or port) .. path
    local out, err, status = H.sh(("curl -s -X %s -w '\\n%%{http_code}' '%s'"):format(method, url))
    assert.are.equal(0, status, err)
    local body, code = out:match("^(.*)\n(%d+)$")
    return tonumber(code), body
  end

  it("deletes a session through the thread pool and answers JSON", function()
    local id = "nginx-" .. H.nonce()
    local code, body = request("DELETE", "/sessions/" .. id)
    assert.are.equal(200, code, body)
    assert.are.same({ deleted = id }, cjson.decode(body))
    assert.are.equal(1, H.info(id).hits)
  end)

  it("brings error tables back intact, with their tostring", function()
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
    assert.are.equal("zavu: session_busy (HTTP 422): Session is linking [request_id=" ..
      r.error.request_id .. "]", r.text)
    local log = io.open(dir .. "/logs/error.log"):read("*a")
    assert.matches("zavu: session_busy (HTTP 422)", log, 1, true) -- ngx.log(ngx.ERR, err)
  end)

  it("reports transport errors the same way", function()
    local code, body = request("DELETE", "/sessions/garbage-" .. H.nonce())
    assert.are.equal(502, code)
    local r = cjson.decode(body)
    assert.are.equal("invalid_response", r.error.code)
    assert.is_nil(r.error.status)
  end)

  it("runs 20 concurrent 200 ms deletes side by side, not one after another", function()
    local urls, ids = {}, {}
    for i = 1, 20 do
      ids[i] = "slow-200-" .. H.nonce()
      urls[i] = "'" .. base .. "/sessions/" .. ids[i] .. "'"
    end
    local t = H.now()
    local out, err, status = H.sh("curl -s -Z --parallel-max 20 -X DELETE -o /dev/null -w '%{http_code}\\n' "
      .. table.concat(urls, " "))
    local took = H.now() - t
    assert.are.equal(0, status, err)
    local _, n200 = out:gsub("200\n", "")
    assert.are.equal(20, n200, out)
    for i = 1, 20 do assert.are.equal(1, H.info(ids[i]).hits) end
    -- A blocking worker would take 20 x 200 ms = 4 s.
    assert.is_true(took < 1.5, "took " .. took .. " s")
  end)

  it("keeps answering other requests while deletes are in flight", function()
    local urls = {}
    for i = 1, 5 do urls[i] = "'" .. base .. "/sessions/slow-1500-" .. H.nonce() .. "'" end
    local out = H.sh(([[
      curl -s -Z -X DELETE -o /dev/null -w 'delete %%{http_code} %%{time_total}\n' %s > %s/deletes & pid=$!
      sleep 0.3
      curl -s -o /dev/null -w 'health %%{http_code} %%{time_total}\n' '%s/health'
      wait $pid
      cat %s/deletes
    ]]):format(table.concat(urls, " "), dir, base, dir))
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

  it("says clearly when no thread pool is there", function()
    local _, body = request("GET", "/t/nopool", spec_port)
    local r = cjson.decode(body)
    assert.are.equal("worker_thread_unavailable", r.code)
    assert.matches("thread_pool", r.text)
    assert.matches("blocking = true", r.text, 1, true)
  end)

  it("says clearly when the phase cannot yield, and blocking mode works there", function()
    local _, code = request("GET", "/t/set", spec_port)
    assert.are.equal("worker_thread_unavailable", code)
    local _, body = request("GET", "/t/init", spec_port)
    local r = cjson.decode(body)
    assert.are.equal("worker_thread_unavailable", r.nonblocking_code)
    assert.is_true(r.blocking_ok)
    assert.is_true(r.forked_ok) -- the master's client, used in a forked worker
  end)

  it("runs delete_many in the thread pool, error tables restored", function()
    local _, body = request("GET", "/t/many", spec_port)
    local r = cjson.decode(body)
    assert.are.same({ "many-a", "many-b" }, r.deleted)
    assert.are.equal(false, r.ok)
    assert.are.equal(4, r.total)
    assert.are.same({ "missing-many", "" }, { r.failed[1].id, r.failed[2].id })
    assert.are.same({ "session_not_found", "invalid_argument" }, { r.failed[1].code, r.failed[2].code })
    assert.matches("^zavu: session_not_found %(HTTP 404%)", r.failed[1].text)
  end)

  it("raises for a wrong id type, like the plain module", function()
    local _, body = request("GET", "/t/badid", spec_port)
    assert.matches("bad argument #1 to 'delete'", body, 1, true)
  end)
end)
