-- zavu.cli.sessions: the `zavu sessions ...` commands. Each takes the
-- context made by zavu.cli (flags, words, client) and returns the exit status.
local args = require "zavu.cli.args"
local json = require "zavu.cli.json"
local output = require "zavu.cli.output"
local qr = require "zavu.cli.qr"
local term = require "zavu.cli.term"
local removal = require "zavu.cli.removal"
local lifecycle = require "zavu.lifecycle"

local M = {}

M.FIELDS = {
  "id",
  "displayName",
  "status",
  "phoneNumber",
  "pushName",
  "senderId",
  "egress",
  "createdAt",
  "updatedAt",
  "lastConnectedAt",
  "lastError",
  "qrCode",
}

-- "2026-05-01T12:34:56Z" -> "2026-05-01 12:34Z": to the minute, still UTC.
function M.minute(t)
  if type(t) ~= "string" then return nil end
  local d, hm = t:match("^(%d%d%d%d%-%d%d%-%d%d)[Tt ](%d%d:%d%d)")
  return d and t:match("[Zz]$") and (d .. " " .. hm .. "Z") or t
end

-- The table's columns; on a narrow terminal the highest flex gives way first.
M.COLUMNS = {
  { "ID", "id", flex = 1, keep = true },
  { "NAME", "displayName", flex = 4 },
  { "STATUS", "status", status = true },
  { "PHONE", "phoneNumber", flex = 2, drop = 1 },
  { "CREATED", function(s) return M.minute(s.createdAt) end, flex = 3, min = 10, cut = true, drop = 2 },
}

local function set_of(list)
  local s = {}
  for _, v in ipairs(list or {}) do
    s[v] = true
  end
  return s
end

local function show(ctx, session)
  if ctx.opts.json then
    output.print_json(session)
  else
    output.fields(session, M.FIELDS)
  end
  return 0
end

function M.list(ctx)
  local sessions, err = ctx.client().sessions.all()
  if not sessions then return ctx.fail("listing sessions", err) end
  local want, rows = ctx.opts.status and set_of(ctx.opts.status), json.array()
  for _, s in ipairs(sessions) do
    if not want or want[s.status] then rows[#rows + 1] = s end
  end
  if ctx.opts.json then
    output.print_json(rows)
  elseif #rows == 0 then
    output.note(want and "no sessions with that status" or "no sessions")
  else
    output.table(rows, M.COLUMNS)
  end
  return 0
end

function M.get(ctx)
  local s, err = ctx.client().sessions.get(ctx.args[1])
  if not s then return ctx.fail("session " .. ctx.args[1], err) end
  return show(ctx, s)
end

-- The egress object the flags ask for, or nil (the API's default).
function M.egress(opts, required)
  local kind = opts.egress or (opts.node and "android")
  if not kind then
    if required then args.usage_error("missing --egress (external or android)") end
    return nil
  end
  if kind == "android" and not opts.node then args.usage_error("--egress android needs --node ID") end
  if kind == "external" and opts.node then args.usage_error("--node goes with --egress android, not external") end
  return { kind = kind, nodeId = opts.node }
end

-- Wait for session id to reach the statuses asked for, drawing each QR code.
-- The library's wait, over a get that sees a Ctrl-C which came between two
-- polls (a cancel only ends calls in flight), and an on_qr that does too
-- (one that came while qrencode ran would otherwise wait out a whole sleep).
local function wait_for(ctx, id, statuses)
  local client = ctx.client()
  local get_counted = require("zavu.methods").detailed(client.handle, "sessions.get") -- wait counts its requests
  local function get(sid)
    if ctx.interrupted() then return nil, ctx.cancelled() end
    return get_counted(sid)
  end
  local draw, clear = qr.display()
  local function on_qr(payload, session)
    draw(payload, session)
    if ctx.interrupted() then error(ctx.cancelled(), 0) end
  end
  local ok, s, err = pcall(lifecycle.wait(get), id, {
    status = statuses or "ready",
    on_qr = on_qr,
    timeout = ctx.opts.wait_timeout or 300,
    interval = ctx.opts.interval,
  })
  if not ok then
    s, err = nil, s
  end
  clear()
  if s then return show(ctx, s) end
  if err.code == "cancelled" or ctx.interrupted() then
    local last = err.session and err.session.status
    output.note(
      (
        "zavu: interrupted: session %s is not ready%s; `zavu sessions wait %s` goes on waiting, "
        .. "`zavu sessions delete %s` removes it"
      ):format(term.clean(id), last and (" (" .. term.clean(last) .. ")") or "", term.clean(id), term.clean(id))
    )
    return 130
  end
  return ctx.fail("waiting for session " .. id, err)
end

function M.create(ctx)
  local o = ctx.opts
  local body = { displayName = o.name, egress = M.egress(o, false) }
  if not o.wait and (o.wait_timeout or o.interval) then args.usage_error("--wait-timeout goes with --wait") end
  ctx.check("sessions.create", body)
  local s, err = ctx.client().sessions.create(body)
  if not s then return ctx.fail("creating a session", err) end
  if not o.wait then return show(ctx, s) end
  output.note("zavu: created session ", term.clean(s.id), "; waiting until it is ready (Ctrl-C stops)")
  return wait_for(ctx, s.id)
end

function M.wait(ctx) return wait_for(ctx, ctx.args[1], ctx.opts.status) end

-- reconnect, logout, unlink: one id in, the session out.
for _, name in ipairs { "reconnect", "logout", "unlink" } do
  M[name] = function(ctx)
    local s, err = ctx.client().sessions[name](ctx.args[1])
    if not s then return ctx.fail(name .. " session " .. ctx.args[1], err) end
    return show(ctx, s)
  end
end

function M.link(ctx)
  local s, err = ctx.client().sessions.link(ctx.args[1], ctx.args[2])
  if not s then return ctx.fail("linking session " .. ctx.args[1], err) end
  return show(ctx, s)
end

M["set_egress"] = function(ctx)
  local egress = M.egress(ctx.opts, true)
  local s, err = ctx.client().sessions.set_egress(ctx.args[1], egress)
  if not s then return ctx.fail("setting the egress of session " .. ctx.args[1], err) end
  return show(ctx, s)
end

M.delete = removal.delete
M.prune = removal.prune

return M
