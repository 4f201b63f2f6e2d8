-- zavu.nvim in a real headless Neovim (Debian's, LuaJIT), against the mock
-- API, with zavu found on the runtimepath the way a plugin manager puts it.
local H = require "spec.helper"
local cjson = require "cjson"

-- Runs `body` inside Neovim; it fills the table `out`, which comes back.
local function in_nvim(body)
  local script, result = os.tmpname(), os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(([[
    local out = {}
    local ok, msg = pcall(function() %s end)
    if not ok then out.lua_error = tostring(msg) end
    local f = io.open(%q, "w")
    f:write(vim.fn.json_encode(out))
    f:close()
    vim.cmd("qa!")
  ]]):format(body, result))
  f:close()
  local rtp = table.concat({ H.root, H.root .. "/build/nvim", H.root .. "/examples/nvim" }, ",")
  local cmd = ("ZAVUDEV_API_KEY=%s ZAVUDEV_BASE_URL=%s timeout 60 nvim --headless -u NONE -i NONE "
    .. "--cmd 'set rtp+=%s' --cmd 'runtime! plugin/zavu_sessions.lua' -c 'luafile %s'")
    :format(H.key, H.http_url, rtp, script)
  local _, err, status = H.sh(cmd)
  local rf = io.open(result)
  local text = rf and rf:read("*a") or ""
  if rf then rf:close() end
  os.remove(script)
  os.remove(result)
  assert(status == 0 and text ~= "", "nvim failed (" .. tostring(status) .. "): " .. err)
  local out = cjson.decode(text)
  assert(out.lua_error == nil, out.lua_error)
  return out
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
      local ticks = 0
      local timer = vim.loop.new_timer()
      timer:start(0, 10, function() ticks = ticks + 1 end)
      local started = vim.loop.hrtime()
      require("zavu.nvim").sessions.delete("slow-1000-%s", function(ok)
        out.ok = ok
        out.ticks_during = ticks
        out.ms = (vim.loop.hrtime() - started) / 1e6
      end)
      out.returned_after_ms = (vim.loop.hrtime() - started) / 1e6
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
      { msg = "Zavu: could not delete session missing-" .. tag ..
        ": zavu: session_not_found (HTTP 404): Session not found [request_id=" .. request_id .. "]",
        level = 4 },
      { msg = "Zavu: deleted session missing-bang-" .. tag, level = 2 },
      { msg = "Zavu: deleted session ok-" .. tag, level = 2 },
    }, out.notes)
    assert.are.equal(1, H.info("ok-" .. tag).hits)
  end)
end)
