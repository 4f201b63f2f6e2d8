-- zavu.nvim in a real headless Neovim (Debian's, LuaJIT), against the mock
-- API, with zavu found on the runtimepath the way a plugin manager puts it.
-- Every Neovim runs under `timeout`, and every wait inside it is bounded, so a
-- hang fails in seconds.
local H = require "spec.helper"
local B = require "spec.support.bad_bodies"
local cjson = require "cjson"

local NVIM_BOUND = 20 -- seconds for one Neovim, start to exit

-- Runs `body` inside Neovim; it fills the table `out`, which comes back, with
-- Neovim's stderr and exit status. opts: env (over the mock's key and URL),
-- rtp (directories put first on 'runtimepath'), may_fail (no assertion on the
-- exit), quit (how the body's end quits: default "qa!").
local function in_nvim(body, opts)
  opts = opts or {}
  local script, result = os.tmpname(), os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(([[
    local out = {}
    local ok, msg = pcall(function() %s end)
    if not ok then out.lua_error = tostring(msg) end
    local s, us = (vim.uv or vim.loop).gettimeofday()
    out.quit_at = ("%%.6f"):format(s + us / 1e6) -- a string: json_encode rounds floats
    local f = io.open(%q, "w")
    f:write(vim.fn.json_encode(out))
    f:close()
    vim.cmd("qa!")
  ]]):format(body, result))
  f:close()
  local env = { ZAVUDEV_API_KEY = H.key, ZAVUDEV_BASE_URL = H.http_url }
  for k, v in pairs(opts.env or {}) do
    env[k] = v
  end
  local rtp = table.concat({ H.root, H.root .. "/build/nvim", H.root .. "/examples/nvim" }, ",")
  local cmd = (
    "%s timeout %d nvim --headless -u NONE -i NONE --cmd 'set rtp+=%s' %s "
    .. "--cmd 'runtime! plugin/zavu_sessions.lua' -c 'luafile %s'"
  ):format(H.env_prefix(env), NVIM_BOUND, rtp, opts.rtp and ("--cmd 'set rtp^=" .. opts.rtp .. "'") or "", script)
  local _, err, status = H.sh(cmd)
  local exited_at = H.now()
  local rf = io.open(result)
  local text = rf and rf:read("*a") or ""
  if rf then rf:close() end
  os.remove(script)
  os.remove(result)
  assert(status == 0 and text ~= "", "nvim failed (" .. tostring(status) .. "): " .. err)
  local out = cjson.decode(text)
  assert(out.lua_error == nil, out.lua_error)
  assert(not err:find("Error", 1, true), "Neovim printed an error: " .. err)
  return out, err, exited_at - tonumber(out.quit_at)
end

local function tmpdir()
  local out = H.sh("mktemp -d")
  return (out:gsub("%s+$", ""))
end

describe("zavu.nvim in headless Neovim", function()
  it("gives the callback what the blocking call returns", function()
    local tag = H.nonce()
    local out = in_nvim(([[
      local blocking = require("zavu").new()
      local nvim = require("zavu.nvim")
      local function fields(err)
        if not err then return nil end
        return { code = err.code, message = err.message, status = err.status,
                 retryable = err.retryable, attempts = err.attempts, details = err.details }
      end
      local b_ok, b_err = blocking.sessions.delete("details-b-%s")
      out.blocking = { ok = b_ok or false, err = fields(b_err) }
      out.blocking_ok = blocking.sessions.delete("fine-b-%s")
      nvim.sessions.delete("details-a-%s", function(ok, err)
        out.async = { ok = ok or false, err = fields(err), text = tostring(err),
                      main_loop = pcall(vim.api.nvim_get_current_buf) }
      end)
      nvim.sessions.delete("fine-a-%s", { missing_ok = true }, function(ok, err)
        out.async_ok = ok
        out.async_ok_err = err
      end)
      vim.wait(10000, function() return out.async ~= nil and out.async_ok ~= nil end, 10)
    ]]):format(tag, tag, tag, tag))
    assert.is_true(out.blocking_ok)
    assert.is_true(out.async_ok)
    assert.is_nil(out.async_ok_err)
    assert.are.same(out.blocking, out.async and { ok = out.async.ok, err = out.async.err })
    assert.are.equal("session_busy", out.async.err.code)
    assert.are.equal(422, out.async.err.status)
    assert.are.same({ state = "linking", retry_in = 5 }, out.async.err.details)
    assert.matches("^zavu: session_busy %(HTTP 422%): Session is linking", out.async.text)
    assert.is_true(out.async.main_loop) -- the callback may use the whole Neovim API
    assert.are.equal(1, H.info("fine-a-" .. tag).hits)
  end)

  it("keeps the main loop running while a slow delete is in flight", function()
    local out = in_nvim(([[
      local uv = vim.uv or vim.loop
      local ticks = 0
      local timer = uv.new_timer()
      timer:start(0, 10, function() ticks = ticks + 1 end)
      local started = uv.hrtime()
      require("zavu.nvim").sessions.delete("slow-1000-%s", function(ok)
        out.ok = ok
        out.ticks_during = ticks
        out.ms = (uv.hrtime() - started) / 1e6
      end)
      out.returned_after_ms = (uv.hrtime() - started) / 1e6
      vim.wait(10000, function() return out.ok ~= nil end, 10)
      timer:stop()
    ]]):format(H.nonce()))
    assert.is_true(out.ok)
    assert.is_true(out.returned_after_ms < 100, "delete() blocked for " .. out.returned_after_ms .. " ms")
    assert.is_true(out.ms >= 1000)
    -- 1 s at one tick per 10 ms; a frozen loop would count next to none.
    assert.is_true(out.ticks_during >= 50, "only " .. out.ticks_during .. " ticks")
  end)

  it("brings transport and local errors to the callback as tables", function()
    local out = in_nvim([[
      local nvim = require("zavu.nvim")
      local c = nvim.new { base_url = "http://127.0.0.1:1", max_retries = 0 }
      c.sessions.delete("x", function(ok, err) out.refused = err end)
      nvim.new({ api_key = "zv_test_1" }).sessions.delete("x", function(ok, err) out.test_key = err end)
      nvim.sessions.delete("", function(ok, err) out.empty = err end)
      vim.wait(10000, function() return out.refused and out.test_key and out.empty end, 10)
      out.bad_type = select(2, pcall(nvim.sessions.delete, {}, function() end))
    ]])
    assert.are.equal("connection_error", out.refused.code)
    assert.is_nil(out.refused.status)
    assert.is_true(out.refused.retryable)
    assert.are.equal(1, out.refused.attempts)
    assert.are.equal("test_mode_key", out.test_key.code)
    assert.are.equal(0, out.test_key.attempts)
    assert.are.equal("invalid_argument", out.empty.code)
    assert.matches("bad argument #1 to 'delete'", out.bad_type, 1, true)
  end)

  it("runs delete_many off the main loop, calling back with the summary", function()
    local tag = H.nonce()
    local out = in_nvim(([[
      require("zavu.nvim").sessions.delete_many({ "m1-%s", "missing-%s", "m2-%s" }, { concurrency = 3 },
        function(summary)
          out.summary = summary
          out.text = tostring(summary.failed[1].error)
        end)
      vim.wait(10000, function() return out.summary ~= nil end, 10)
    ]]):format(tag, tag, tag))
    assert.are.same({ "m1-" .. tag, "m2-" .. tag }, out.summary.deleted)
    assert.are.equal("missing-" .. tag, out.summary.failed[1].id)
    assert.are.equal("session_not_found", out.summary.failed[1].error.code)
    assert.matches("^zavu: session_not_found %(HTTP 404%)", out.text)
    assert.is_false(out.summary.ok)
  end)

  it("raises a bad option, a missing callback or a function argument at the call site, and never calls back", function()
    local out, stderr = in_nvim([[
      local zn = require("zavu.nvim")
      local calls = 0
      local function cb() calls = calls + 1 end
      local function raised(f)
        local ok, err = pcall(f)
        return ok and "did not raise" or tostring(err)
      end
      out.timeout = raised(function() zn.sessions.delete("x", { timeout = "x" }, cb) end)
      out.nan = raised(function() zn.sessions.delete("x", { timeout = 0 / 0 }, cb) end)
      out.max_retries = raised(function() zn.sessions.delete("x", { max_retries = -5 }, cb) end)
      out.missing_ok = raised(function() zn.sessions.delete("x", { missing_ok = "yes" }, cb) end)
      out.api_key = raised(function() zn.new { api_key = 42 } end)
      out.client_timeout = raised(function() zn.new { timeout = -1 } end)
      out.concurrency = raised(function() zn.sessions.delete_many({ "a" }, { concurrency = 0 }, cb) end)
      out.on_progress = raised(function() zn.sessions.delete_many({ "a" }, { on_progress = cb }, cb) end)
      out.mixed = raised(function() zn.sessions.delete_many({ "a", x = 1 }, cb) end)
      out.no_callback = raised(function() zn.sessions.delete("x") end)
      out.not_callback = raised(function() zn.sessions.delete("x", {}, "cb") end)
      vim.wait(300) -- a stray callback would have run by now
      out.calls = calls
    ]])
    local expected = {
      timeout = "bad option 'timeout' (finite number of seconds > 0 expected, got string)",
      nan = "bad option 'timeout' (finite number of seconds > 0 expected, got ",
      max_retries = "bad option 'max_retries' (integer 0..100 expected, got -5)",
      missing_ok = "bad option 'missing_ok' (boolean expected, got string)",
      api_key = "bad option 'api_key' (string expected, got number)",
      client_timeout = "bad option 'timeout' (finite number of seconds > 0 expected, got -1)",
      concurrency = "bad option 'concurrency' (integer 1..64 expected, got 0)",
      on_progress = "bad argument #2 to 'delete_many' (on_progress: a function cannot cross into libuv's thread pool)",
      mixed = "bad argument #1 to 'delete_many' (a table with both array and named keys cannot cross",
      no_callback = "'delete' needs a callback function as its last argument (the last one given is a string)",
      not_callback = "'delete' needs a callback function as its last argument (the last one given is a string)",
    }
    for k, text in pairs(expected) do
      assert.is_truthy(out[k]:find(text, 1, true), k .. ": " .. out[k])
      -- raised at the caller's line (the spec's chunk), not inside zavu
      assert.is_truthy(out[k]:match("^[^:]+:%d+: "), k .. ": " .. out[k])
      assert.is_nil(out[k]:find("zavu/", 1, true), k .. ": " .. out[k])
    end
    assert.are.equal(0, out.calls)
    assert.is_nil(stderr:find("luv thread", 1, true))
  end)

  it("refuses a misspelled option, body field or query parameter at the call site, sending nothing", function()
    local id, key = "names-" .. H.nonce(), "zv_live_names_" .. H.nonce()
    local number = H.pid() * 1e9 + (os.time() % 100000) * 1e4 + 2
    H.mock_seed(key, 2, { status = "initializing" })
    local out = in_nvim(([[
      local zn = require("zavu.nvim")
      local id, number = %q, %d
      local c = zn.new { api_key = %q }
      local calls = 0
      local function cb() calls = calls + 1 end
      local function raised(f)
        local ok, err = pcall(f)
        return ok and "did not raise" or tostring(err)
      end
      local t = { timeuot = 1 }
      out.new = raised(function() zn.new { timeuot = 5 } end)
      out.delete = raised(function() c.sessions.delete(id, t, cb) end)
      out.default_delete = raised(function() zn.sessions.delete(id, t, cb) end)
      out.get = raised(function() c.sessions.get(id, t, cb) end)
      out.list = raised(function() c.sessions.list({}, t, cb) end)
      out.all = raised(function() c.sessions.all(nil, { max_page = 2 }, cb) end)
      out.many = raised(function() c.sessions.delete_many({ id }, { concurency = 2 }, cb) end)
      out.wait = raised(function() c.sessions.wait(id, { timout = 1 }, cb) end)
      out.prune = raised(function() c.sessions.prune({ status = "initializing", dryrun = true }, cb) end)
      out.request = raised(function() c.request("GET", "/v1/whatsapp-alt/proxy-status", t, cb) end)
      out.create = raised(function() c.sessions.create({ displayNam = "x" }, cb) end)
      out.node_list = raised(function() c.egress_nodes.list({}, cb) end)
      out.delete_table = raised(function() c.sessions.delete({}, cb) end)
      vim.wait(300) -- a stray callback would have run by now
      out.calls = calls
      c.sessions.get(number, function(_, err) out.number = err and err.status end)
      c.sessions.get(1.5, function(_, err) out.fraction = err and err.code end)
      vim.wait(5000, function() return out.number ~= nil and out.fraction ~= nil end, 10)
    ]]):format(id, number, key))
    local function typo(fname) return ("unknown option 'timeuot' to '%s' (did you mean 'timeout'?)"):format(fname) end
    local expect = {
      new = typo "new",
      delete = typo "delete",
      default_delete = typo "delete",
      get = typo "get",
      list = typo "list",
      request = typo "request",
      all = "unknown option 'max_page' to 'all' (did you mean 'max_pages'?)",
      many = "unknown option 'concurency' to 'delete_many' (did you mean 'concurrency'?)",
      wait = "unknown option 'timout' to 'wait' (did you mean 'timeout'?)",
      prune = "unknown option 'dryrun' to 'prune' (did you mean 'dry_run'?)",
      create = "unknown body field 'displayNam' to 'create' (did you mean 'displayName'?)",
      node_list = "missing query parameter 'senderId' to 'list' (string required)",
      delete_table = "bad argument #1 to 'delete' (string expected for sessionId, got table)",
    }
    for k, text in pairs(expect) do
      assert.are.equal(text, (out[k]:gsub("^[^\n]-:%d+: ", "")), k)
      assert.is_truthy(out[k]:match("^[^:]+:%d+: "), k .. ": " .. out[k]) -- at the caller's line
      assert.is_nil(out[k]:find("zavu/", 1, true), k .. ": " .. out[k])
    end
    assert.are.equal(0, out.calls)
    assert.is_nil(H.info(id).hits)
    assert.are.equal(404, out.number)
    assert.are.equal(1, H.info(("%d"):format(number)).hits)
    assert.are.equal("invalid_argument", out.fraction)
    assert.are.equal(1, H.key_hits(key)) -- the number's get, and nothing else
  end)

  it("sends messages and changes senders off the main loop: retried with one key, never twice", function()
    local n, key = H.nonce(), "zv_live_msg_" .. H.nonce()
    local plain = require("zavu").new { api_key = key, base_url = H.http_url }
    local default = assert(plain.senders.create { name = "Default " .. n }).id
    local out = in_nvim(([[
      local zn = require("zavu.nvim")
      local n = %q
      local c = zn.new { api_key = %q, sender = %q }
      local pending = 0
      local function call(name, f, ...)
        pending = pending + 1
        local args = { n = select("#", ...) + 1, ... }
        args[args.n] = function(v, err)
          local d = err and err.details or {}
          out[name] = v or { code = err.code, status = err.status, attempts = err.attempts,
                             key = d.idempotencyKey, original = type(d.message) == "table" and d.message.id or nil }
          pending = pending - 1
        end
        f(unpack(args, 1, args.n))
      end
      local function settle() vim.wait(8000, function() return pending == 0 end, 10) end
      call("lost", c.messages.send, { to = "lose-1-close-" .. n, text = "once" })
      call("conflict", c.messages.send, { to = "conflict-" .. n, text = "x" }, { max_retries = 2 })
      call("header", c.messages.send, { to = "echo-" .. n, text = "x" })
      call("flat", c.messages.get, "missing-" .. n)
      call("nested", c.messages.get, "legacy-" .. n)
      call("own_key", c.messages.send, { to = "mine-" .. n, channel = "whatsapp", text = "k", idempotencyKey = "key-" .. n })
      settle()
      call("reused", c.messages.send, { to = "mine-" .. n, channel = "whatsapp", text = "k", idempotencyKey = "key-" .. n })
      call("sender", c.senders.create, { name = "Hook " .. n, webhookUrl = "https://example.com/h" })
      settle()
      call("cleared", c.senders.update, out.sender.id, { webhookUrl = zn.null })
      call("reaction", c.messages.react, out.own_key.id, "+1", nil, { timeout = 5 })
      settle()
      local ok, msg = pcall(function() c.messages.send({ to = "+1", txt = "x" }, function() out.stray = true end) end)
      out.typo = ok and "did not raise" or tostring(msg)
      vim.wait(200)
    ]]):format(n, key, default))
    local mine = {}
    for _, m in ipairs(H.mock_messages(key)) do
      if m.messageType ~= "reaction" then mine[m.to] = (mine[m.to] or 0) + 1 end
    end
    assert.is_string(out.lost.id) -- the lost answer: the retry's 409 is the first attempt's success
    assert.are.equal(1, mine["lose-1-close-" .. n])
    assert.are.equal(409, out.reused.status) -- the caller's key, used before: an error, not retried
    assert.are.equal(1, out.reused.attempts)
    assert.are.equal("key-" .. n, out.reused.key)
    assert.are.equal(out.own_key.id, out.reused.original)
    assert.are.equal(1, mine["mine-" .. n])
    assert.are.equal(1, out.conflict.attempts)
    assert.are.equal(1, H.mock_hits("conflict-" .. n))
    assert.are.equal(default, H.info("echo-" .. n).headers["zavu-sender"])
    assert.are.equal('{"webhookUrl":null}', H.mock_last_raw_body(out.sender.id)) -- zavu.null crossed into the pool
    assert.is_nil(out.cleared.webhook)
    assert.are.equal("reaction", out.reaction.messageType) -- react(id, emoji, nil, opts, cb)
    assert.are.equal(404, out.flat.status)
    assert.are.equal("legacy_not_found", out.nested.code)
    assert.matches(":%d+: unknown body field 'txt' to 'send' %(did you mean 'text'%?%)$", out.typo)
    assert.is_nil(out.stray)
  end)

  it("brings a failure inside the worker thread to the callback once, as an error table", function()
    local broken = tmpdir()
    H.sh("mkdir -p " .. broken .. "/lua/zavu")
    local f = assert(io.open(broken .. "/lua/zavu/init.lua", "w"))
    f:write('error("this zavu is broken on purpose")\n')
    f:close()
    local out, stderr = in_nvim(([[
      local zn = require("zavu.nvim") -- the real one, in this thread
      vim.opt.rtp:prepend(%q)         -- the worker threads find the broken one first
      out.delete, out.many = {}, {}
      zn.sessions.delete("x", function(ok, err)
        table.insert(out.delete, { ok = ok or false, code = err.code, text = tostring(err),
                                   is_error = zn.is_error(err) })
      end)
      zn.sessions.delete_many({ "a", "b" }, function(summary, err)
        table.insert(out.many, { summary = summary or false, code = err and err.code })
      end)
      vim.wait(5000, function() return #out.delete > 0 and #out.many > 0 end, 10)
      vim.wait(300) -- a second callback would have run by now
    ]]):format(broken))
    H.sh("rm -rf " .. broken)
    assert.are.equal(1, #out.delete)
    assert.are.equal(1, #out.many)
    assert.is_false(out.delete[1].ok)
    assert.is_true(out.delete[1].is_error)
    assert.are.equal("internal_error", out.delete[1].code)
    assert.matches(
      "^zavu: internal_error: the call failed in libuv's worker thread: .*" .. "broken on purpose",
      out.delete[1].text
    )
    assert.is_false(out.many[1].summary)
    assert.are.equal("internal_error", out.many[1].code)
    assert.is_nil(stderr:find("luv thread", 1, true))
  end)

  it("exits within a second on :qa! during a delete against a server that never answers", function()
    -- Needs zavu.core's cancel_all: without it, Neovim waits for the
    -- client's 5 s timeout as it exits, and this spec fails.
    local tag = H.nonce()
    -- luacheck: ignore out
    local out, stderr, exit_seconds = in_nvim(([[
      local zn = require("zavu.nvim")
      zn.new({ timeout = 5, max_retries = 0 }).sessions.delete("hang-%s", function(ok, err)
        io.stderr:write("callback ran while quitting: ", tostring(err), "\n")
      end)
      vim.wait(500) -- the request is on the wire
    ]]):format(tag))
    assert.are.equal(1, H.info("hang-" .. tag).hits)
    assert.is_true(exit_seconds < 1, ("Neovim took %.2f s to exit"):format(exit_seconds))
    assert.are.equal("", stderr)
  end)

  it("runs no callback of a call cancelled as Neovim quits, and starts none of those still queued", function()
    -- VimLeavePre is what :qa! runs first; fired by hand, Neovim goes on, so
    -- a callback that should not run has the time to.
    local tag = H.nonce()
    local out = in_nvim(([[
      local zn = require("zavu.nvim")
      local c = zn.new({ timeout = 5, max_retries = 0 })
      out.ran = {}
      for i = 1, 6 do -- libuv's pool takes 4: two wait in zavu.nvim's queue
        c.sessions.delete("hang-%s-" .. i, function(ok, err) table.insert(out.ran, tostring(err)) end)
      end
      vim.wait(500) -- the first four are on the wire
      vim.api.nvim_exec_autocmds("VimLeavePre", {})
      vim.wait(1000) -- cancelled at once, they come back from the pool now
    ]]):format(tag))
    assert.are.same({}, out.ran)
    for i = 1, 4 do
      assert.are.equal(1, H.info(("hang-%s-%d"):format(tag, i)).hits)
    end
    assert.is_nil(H.info(("hang-%s-5"):format(tag)).hits)
    assert.is_nil(H.info(("hang-%s-6"):format(tag)).hits)
  end)

  it("calls back once, and keeps its count of calls in flight, even when luv hands a result twice", function()
    local tag = H.nonce()
    local out = in_nvim(([[
      local uv = vim.uv or vim.loop
      local new_work = uv.new_work
      uv.new_work = function(work, after) -- every result arrives twice
        return new_work(work, function(...) after(...); after(...) end)
      end
      local zn = require("zavu.nvim")
      out.calls = {}
      for i = 1, 10 do
        zn.sessions.delete("par-100-%s-" .. i, function() out.calls[i] = (out.calls[i] or 0) + 1 end)
      end
      vim.wait(5000, function()
        for i = 1, 10 do if not out.calls[i] then return false end end
        return true
      end, 10)
      vim.wait(200) -- a second callback would have run by now
    ]]):format(tag))
    for i = 1, 10 do
      assert.are.equal(1, out.calls[i], "call " .. i)
    end
    local most = H.max_in_flight(tag)
    assert.is_true(most <= 4, "in flight at once: " .. most)
  end)

  it("runs at most libuv's pool size of calls at once; each calls back once", function()
    local tag = H.nonce()
    local out = in_nvim(([[
      local zn = require("zavu.nvim")
      out.calls = {}
      for i = 1, 10 do
        zn.sessions.delete("par-150-%s-" .. i, function(ok, err)
          out.calls[i] = (out.calls[i] or 0) + 1
        end)
      end
      vim.wait(5000, function()
        for i = 1, 10 do if not out.calls[i] then return false end end
        return true
      end, 10)
      vim.wait(200)
    ]]):format(tag))
    for i = 1, 10 do
      assert.are.equal(1, out.calls[i], "call " .. i)
    end
    local most = H.max_in_flight(tag)
    assert.is_true(most >= 2 and most <= 4, "in flight at once: " .. most)
  end)

  it("bounds calls by total_timeout, the wait for a worker thread included", function()
    local tag = H.nonce()
    local out = in_nvim(([[
      local zn = require("zavu.nvim")
      -- the client's total_timeout, behind 429s that ask for 0.7 s each
      zn.new({ total_timeout = 1, max_retries = 5 }).sessions.delete("ratelimit-5-700-a%s", function(ok, err)
        out.client = { code = err and err.code, attempts = err and err.attempts }
      end)
      vim.wait(5000, function() return out.client ~= nil end, 10)
      -- four slow calls fill libuv's pool (4 threads); the fifth waits 1.5 s
      -- in the queue, longer than its total_timeout
      for i = 1, 4 do zn.sessions.delete("slow-1500-" .. i .. "%s", function() end) end
      zn.sessions.delete("queued-%s", { total_timeout = 0.5 }, function(ok, err)
        out.queued = { ok = ok, code = err and err.code, attempts = err and err.attempts }
      end)
      vim.wait(5000, function() return out.queued ~= nil end, 10)
    ]]):format(tag, tag, tag))
    assert.are.same({ code = "timeout", attempts = 2 }, out.client)
    assert.are.same({ code = "timeout", attempts = 0 }, out.queued)
    assert.is_nil(H.info("queued-" .. tag).hits) -- never sent
  end)

  it("offers every method of zavu.METHODS with a callback last, arguments crossing exactly", function()
    local tag = H.nonce()
    -- A number is no fresh id: count this run's hit on it.
    local number = 20000000000 + (os.time() % 1000000) * 1000 + math.random(0, 999)
    local before = H.info(("%d"):format(number)).hits or 0
    local out = in_nvim(([[
      local zavu, zn = require("zavu"), require("zavu.nvim")
      local names = zavu.METHODS or { "sessions.delete", "sessions.delete_many" }
      out.missing = {}
      local client = zn.new()
      for _, name in ipairs(names) do
        local resource, fname = name:match("^(.-)%%.?([^.]+)$")
        for _, c in ipairs({ zn, client }) do
          local f = resource == "" and c[fname] or (c[resource] or {})[fname]
          if type(f) ~= "function" then table.insert(out.missing, name) end
        end
      end
      out.names = zn.METHODS
      out.big = zn._json_encode({ 123456789012345, 0.1, 2 ^ 60, -7 })
      -- a number id crosses as the plain delete would see it
      zn.sessions.delete(%d, function(ok, err) out.number_id = ok or tostring(err) end)
      if zn.request then -- the generic path, when zavu has request (main)
        zn.request("DELETE", "/v1/whatsapp-alt/sessions/{id}", { params = { "req-%s" } }, function(v, err)
          out.request = v or tostring(err)
        end)
      end
      vim.wait(5000, function() return out.number_id ~= nil and (not zn.request or out.request ~= nil) end, 10)
    ]]):format(number, tag))
    assert.are.same({}, out.missing)
    assert.is_truthy(#out.names >= 2)
    assert.are.same({ 123456789012345, 0.1, 2 ^ 60, -7 }, cjson.decode(out.big))
    assert.is_true(out.number_id)
    assert.are.equal("DELETE", H.info(("%d"):format(number)).method)
    assert.are.equal(before + 1, H.info(("%d"):format(number)).hits)
    if out.request ~= nil then
      assert.is_true(out.request)
      assert.are.equal(1, H.info("req-" .. tag).hits)
    end
  end)

  it("calls back with nil, invalid_response for each bad 2xx body on every method; the deletes true", function()
    -- one key per body, each answering every request with it
    local cases = { { what = "good", key = "zv_live_ans_nvim_" .. H.nonce() } }
    H.mock_answer(cases[1].key, B.GOOD)
    for what, body in pairs(B.BAD) do
      cases[#cases + 1] = { what = what, key = "zv_live_ans_nvim_" .. H.nonce() }
      H.mock_answer(cases[#cases].key, body)
    end
    local calls = {}
    for _, list in ipairs { B.CALLS, B.DELETES } do
      for _, call in ipairs(list) do
        calls[#calls + 1] = call
      end
    end
    local out = in_nvim(([[
      local zn = require("zavu.nvim")
      local cases, calls = vim.json.decode(%q), vim.json.decode(%q)
      local pending = 0
      out.results = {}
      for _, case in ipairs(cases) do
        local c, r = zn.new { api_key = case.key, max_retries = 0 }, {}
        out.results[case.what] = r
        for _, call in ipairs(calls) do
          local name = call[1]
          local resource, method = name:match("^(.-)%%.?([^.]+)$")
          local f = resource == "" and c[method] or c[resource][method]
          local args = { unpack(call, 2, table.maxn(call)) }
          args[#args + 1] = function(v, err)
            r[name] = v == nil and (err and err.code or "nil, nil")
              or (v == true or (type(v) == "table" and v.ok == true)) and "true" or "a value"
            pending = pending - 1
          end
          pending = pending + 1
          f(unpack(args))
        end
      end
      vim.wait(15000, function() return pending == 0 end, 10)
    ]]):format(cjson.encode(cases), cjson.encode(calls)))
    for _, case in ipairs(cases) do
      local r = out.results[case.what]
      for _, call in ipairs(B.CALLS) do
        if case.what == "good" then
          assert.is_truthy(r[call[1]] == "a value" or r[call[1]] == "true", call[1] .. ": " .. tostring(r[call[1]]))
        else
          assert.are.equal("invalid_response", r[call[1]], case.what .. ": " .. call[1])
        end
      end
      for _, call in ipairs(B.DELETES) do
        assert.are.equal("true", r[call[1]], case.what .. ": " .. call[1])
      end
    end
  end)

  it("answers :checkhealth zavu, never showing the key", function()
    local secret = "QxWvKjZrTmPbNcHd" .. H.nonce():gsub("%d", function(d) return string.char(65 + d) end)
    local key = "zv_live_" .. secret
    local out = in_nvim(
      ([[
      local function health()
        vim.cmd("checkhealth zavu")
        local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
        vim.cmd("bwipeout!")
        return lines
      end
      out.good = health()
      vim.env.ZAVUDEV_API_KEY = "zv_test_" .. %q
      vim.env.ZAVUDEV_BASE_URL = "http://user:pw@zavu.example.com/?key=zv_test_" .. %q
      out.bad = health()
      vim.env.ZAVUDEV_API_KEY = nil
      vim.env.ZAVUDEV_BASE_URL = nil
      out.unset = health()
      -- Neovim 0.10's API (vim.health.start/ok/...), stood in for: the same report through it
      vim.env.ZAVUDEV_API_KEY = %q
      out.new_api = {}
      local function level(name)
        return function(msg) table.insert(out.new_api, name .. ": " .. msg) end
      end
      vim.health = { start = level("start"), ok = level("OK"), info = level("INFO"),
                     warn = level("WARNING"), error = level("ERROR") }
      require("zavu.health").check()
    ]]):format(secret, secret, key),
      { env = { ZAVUDEV_API_KEY = key } }
    )
    local function has(lines, level, text)
      for _, l in ipairs(lines) do
        if l:find(level, 1, true) and l:find(text, 1, true) then return true end
      end
      error(("no %s line with %q in:\n%s"):format(level, text, table.concat(lines, "\n")))
    end
    local zavu = require "zavu"
    local core = require "zavu.core"
    local good = out.good
    has(good, "OK", "zavu.core " .. zavu.VERSION .. " loads into Neovim's LuaJIT")
    has(good, "OK", "libcurl " .. zavu.curl_version)
    if core.curl_info then
      has(good, "OK", "TLS: " .. core.curl_info().ssl_version)
      if core.curl_info().http2 then
        has(good, "OK", "HTTP/2: yes")
      else
        has(good, "WARNING", "HTTP/2: no")
      end
    else
      has(good, "INFO", "TLS backend and HTTP/2: this zavu.core does not report them")
    end
    has(good, "OK", "a worker thread loads zavu " .. zavu.VERSION)
    has(good, "OK", "ZAVUDEV_API_KEY is set (a live key; not shown)")
    has(good, "OK", "base URL " .. H.http_url .. " (ZAVUDEV_BASE_URL): plain http, allowed to a loopback host")
    for _, l in ipairs(good) do
      assert.is_nil(l:find("ERROR", 1, true), l)
    end

    local bad = out.bad
    has(bad, "WARNING", "ZAVUDEV_API_KEY is set (not shown) but is a test-mode key")
    has(bad, "ERROR", "base URL http://<user:password hidden>@zavu.example.com/?key=<the API key>")
    has(bad, "ERROR", "plain http to a host that is not loopback")
    has(bad, "ERROR", "holds a ? or #")

    has(out.unset, "WARNING", "ZAVUDEV_API_KEY is not set")
    has(out.unset, "OK", "base URL https://api.zavu.dev (the default): https")

    has(out.new_api, "start", "zavu: the C core and libcurl")
    has(out.new_api, "OK", "a worker thread loads zavu " .. zavu.VERSION)
    has(out.new_api, "OK", "ZAVUDEV_API_KEY is set (a live key; not shown)")

    -- not the key, nor any five characters of its secret part, anywhere
    local all = table.concat(good, "\n")
      .. table.concat(bad, "\n")
      .. table.concat(out.unset, "\n")
      .. table.concat(out.new_api, "\n")
    for i = 1, #secret - 4 do
      assert.is_nil(all:find(secret:sub(i, i + 4), 1, true), "part of the key shown: " .. secret:sub(i, i + 4))
    end
    assert.is_nil(all:find("pw@", 1, true))
  end)

  it(":checkhealth zavu names a Lua 5.4 LUA_CPATH (luarocks path) as the cause, and the fix", function()
    -- What the README's install block evals, as Neovim inherits it from that shell.
    local exports = H.sh("luarocks --lua-version=5.4 --local path")
    local path54 = assert(exports:match("export LUA_PATH='([^']+)'"), exports)
    local cpath54 = assert(exports:match("export LUA_CPATH='([^']+)'"), exports)
    assert.matches("/lua/5.4/?.so", cpath54, 1, true)
    local body = [[
      vim.cmd("checkhealth zavu")
      out.lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
    ]]
    -- 1. only 5.4's directories: cjson.so (5.4) does not load into LuaJIT
    local leaked = in_nvim(body, { env = { LUA_PATH = path54, LUA_CPATH = cpath54 } })
    -- 2. LuaJIT's own directories first, 5.4's after them: zavu loads, the leak is still named
    local own = H.sh("env -u LUA_CPATH luajit -e 'io.write(package.cpath)'")
    local after = in_nvim(body, { env = { LUA_PATH = path54, LUA_CPATH = own .. ";" .. cpath54 } })
    local function text(lines) return table.concat(lines, "\n") end
    local cause = "Cause: LUA_CPATH lists module directories of Lua 5.4"
    local fix = "Fix: start Neovim without them (`env -u LUA_PATH -u LUA_CPATH nvim`)"
    local origin = 'It comes from `eval "$(luarocks --lua-version=5.4 --local path)"`'
    local report = text(leaked.lines)
    assert.matches("ERROR: zavu.core does not load into Neovim's LuaJIT", report, 1, true)
    assert.matches("undefined symbol: lua_newuserdatauv", report, 1, true)
    for _, want in ipairs { cause, origin, fix, "luarocks --lua-version=5.1 --local path" } do
      assert.matches(want, report, 1, true)
    end
    report = text(after.lines)
    assert.matches("OK: zavu.core " .. require("zavu").VERSION .. " loads", report, 1, true)
    assert.matches("WARNING: package.cpath lists module directories of Lua 5.4", report, 1, true)
    for _, want in ipairs { cause, origin, fix } do
      assert.matches(want, report, 1, true)
    end
  end)

  it("resolves :help zavu and :help zavu.sessions.delete() once the doc is on the runtimepath", function()
    local dir = tmpdir()
    H.sh(("cp -r %s/doc %s/doc"):format(H.root, dir))
    local out = in_nvim(
      ([[
      vim.cmd("helptags " .. %q .. "/doc")
      local function help(subject)
        vim.cmd("help " .. subject)
        local r = { file = vim.fn.expand("%%:t"), line = vim.api.nvim_get_current_line() }
        vim.cmd("helpclose")
        return r
      end
      out.zavu = help("zavu")
      out.delete = help("zavu.sessions.delete()")
      out.nvim = help("zavu.nvim")
      out.health = help("zavu-health")
      out.command = help(":ZavuSessions")
    ]]):format(dir),
      { rtp = dir }
    )
    H.sh("rm -rf " .. dir)
    for k, tag in pairs({
      zavu = "*zavu*",
      delete = "*zavu.sessions.delete()*",
      nvim = "*zavu.nvim*",
      health = "*zavu-health*",
      command = "*:ZavuSessions*",
    }) do
      assert.are.equal("zavu.txt", out[k].file, k)
      assert.is_truthy(out[k].line:find(tag, 1, true), k .. ": " .. out[k].line)
    end
  end)

  it("gives :ZavuSessionDelete from the example plugin, reporting with vim.notify", function()
    local tag = H.nonce()
    local out = in_nvim(([[
      out.notes = {}
      vim.notify = function(msg, level) table.insert(out.notes, { msg = msg, level = level }) end
      vim.cmd("ZavuSessionDelete ok-%s")
      vim.cmd("ZavuSessionDelete missing-%s")
      vim.cmd("ZavuSessionDelete! missing-bang-%s")
      vim.wait(10000, function() return #out.notes == 3 end, 10)
    ]]):format(tag, tag, tag))
    table.sort(out.notes, function(a, b) return a.msg < b.msg end)
    local request_id = out.notes[1].msg:match("request_id=(req_%x+)")
    assert.is_string(request_id)
    assert.are.same({
      {
        msg = "Zavu: could not delete session missing-"
          .. tag
          .. ": zavu: session_not_found (HTTP 404): Session not found [request_id="
          .. request_id
          .. "]",
        level = 4,
      },
      { msg = "Zavu: deleted session missing-bang-" .. tag, level = 2 },
      { msg = "Zavu: deleted session ok-" .. tag, level = 2 },
    }, out.notes)
    assert.are.equal(1, H.info("ok-" .. tag).hits)
  end)

  it(":ZavuSessionDelete a b deletes both sessions", function()
    local tag = H.nonce()
    local out = in_nvim(([[
      out.notes = {}
      vim.notify = function(msg, level) table.insert(out.notes, msg) end
      vim.cmd("ZavuSessionDelete a-%s b-%s")
      vim.wait(5000, function() return #out.notes == 2 end, 10)
    ]]):format(tag, tag))
    table.sort(out.notes)
    assert.are.same({ "Zavu: deleted session a-" .. tag, "Zavu: deleted session b-" .. tag }, out.notes)
    for _, id in ipairs({ "a-" .. tag, "b-" .. tag }) do
      local seen = H.info(id)
      assert.are.equal(1, seen.hits, id)
      assert.are.equal("DELETE", seen.method, id)
    end
  end)

  it(":ZavuSessions shows every page and deletes the session under the cursor once confirmed", function()
    -- sessions.list is stood in for here (the listing itself is the next spec's).
    local tag = H.nonce()
    local out = in_nvim(([[
      local zn = require("zavu.nvim")
      out.lists = 0
      zn.sessions.list = function(query, callback)
        out.lists = out.lists + 1
        if query.cursor == nil then
          callback({ items = {
            { id = "keep-%s", displayName = "Support\nline", status = "ready", phoneNumber = "+56912345678" },
            { id = "gone-%s", status = "qr_ready" } }, nextCursor = "page2" })
        else
          callback({ items = { { id = "third-%s", displayName = "Ventas", status = "failed" } } })
        end
      end
      out.prompts, out.notes = {}, {}
      vim.fn.confirm = function(msg) table.insert(out.prompts, msg); return #out.prompts == 1 and 2 or 1 end
      vim.notify = function(msg) table.insert(out.notes, msg) end
      vim.cmd("ZavuSessions")
      vim.wait(2000, function() return out.lists >= 2 end, 10)
      out.lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
      out.name = vim.api.nvim_buf_get_name(0)
      out.buftype = vim.bo.buftype
      for i, l in ipairs(out.lines) do
        if l:find("gone-%s", 1, true) then vim.api.nvim_win_set_cursor(0, { i, 0 }) end
      end
      vim.cmd("normal D") -- answered No
      vim.cmd("normal D") -- answered Yes
      vim.wait(5000, function() return #out.notes > 0 end, 10)
    ]]):format(tag, tag, tag, tag))
    assert.are.equal("zavu://sessions", out.name)
    assert.are.equal("nofile", out.buftype)
    local text = table.concat(out.lines, "\n")
    assert.matches("ID%s+NAME%s+STATUS%s+PHONE", text)
    assert.matches("keep%-" .. tag .. "%s+Support line%s+ready%s+%+56912345678", text)
    assert.matches("gone%-" .. tag .. "%s+%-%s+qr_ready", text)
    assert.matches("third%-" .. tag .. "%s+Ventas%s+failed", text)
    assert.are.same({ "Delete session gone-" .. tag .. "?", "Delete session gone-" .. tag .. "?" }, out.prompts)
    assert.are.same({ "Zavu: deleted session gone-" .. tag }, out.notes)
    assert.are.equal(1, H.info("gone-" .. tag).hits)
    assert.is_nil(H.info("keep-" .. tag).hits)
  end)

  it(":ZavuSessions lists the mock's sessions through sessions.list and deletes one", function()
    -- Needs sessions.list in zavu and the mock's stateful GET /v1/whatsapp-alt/sessions
    -- (both on main): on a branch without them this spec fails, by design.
    local http, ltn12 = require "socket.http", require "ltn12"
    local key = "zv_live_nvim" .. H.nonce() -- the mock keeps sessions per key: this spec's own
    local function api(method, path, body)
      local chunks = {}
      local _, code = http.request({
        url = H.http_url .. path,
        method = method,
        source = body and ltn12.source.string(body),
        headers = {
          Authorization = "Bearer " .. key,
          ["Content-Type"] = "application/json",
          ["Content-Length"] = body and #body or nil,
        },
        sink = ltn12.sink.table(chunks),
      })
      return code, require("cjson.safe").decode(table.concat(chunks))
    end
    local function listed()
      local code, page = api("GET", "/v1/whatsapp-alt/sessions?limit=100")
      assert.are.equal(200, code, "the mock has no GET /v1/whatsapp-alt/sessions")
      local ids = {}
      for _, s in ipairs(page.items) do
        ids[#ids + 1] = s.id
      end
      return ids
    end
    assert.are.equal(
      200,
      api("POST", "/_mock/seed", cjson.encode({ key = key, count = 2, status = "ready" })),
      "the mock has no /_mock/seed"
    )
    local code, made = api("POST", "/v1/whatsapp-alt/sessions", cjson.encode({ displayName = "auto-1" }))
    assert.are.equal(201, code)
    local ids = listed()
    assert.are.equal(3, #ids)
    local out = in_nvim(
      ([[
      out.prompts, out.notes = {}, {}
      vim.fn.confirm = function(msg) table.insert(out.prompts, msg); return 1 end
      vim.notify = function(msg) table.insert(out.notes, msg) end
      local function shown()
        return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
      end
      vim.cmd("ZavuSessions")
      vim.wait(5000, function() return #out.notes > 0 or shown():find(%q, 1, true) end, 10)
      out.before = shown()
      for i, l in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
        if l:find(%q, 1, true) then vim.api.nvim_win_set_cursor(0, { i, 0 }) end
      end
      vim.cmd("normal D")
      vim.wait(5000, function() return #out.notes > 0 and not shown():find(%q, 1, true) end, 10)
      out.after = shown()
    ]]):format(ids[3], ids[1], ids[1]),
      { env = { ZAVUDEV_API_KEY = key } }
    )
    assert.matches(ids[1] .. "%s+seeded 1%s+ready", out.before)
    assert.matches(ids[2] .. "%s+seeded 2%s+ready", out.before)
    assert.matches(made.session.id .. "%s+auto%-1%s+ready%s+%+56912345678", out.before)
    assert.are.same({ "Delete session " .. ids[1] .. " (seeded 1)?" }, out.prompts)
    assert.are.same({ "Zavu: deleted session " .. ids[1] }, out.notes)
    assert.are.same({ ids[2], ids[3] }, listed()) -- gone from the API too
    assert.is_nil(out.after:find(ids[1], 1, true))
    assert.is_truthy(out.after:find(ids[2], 1, true))
  end)
end)
