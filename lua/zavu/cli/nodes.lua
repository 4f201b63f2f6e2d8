-- zavu.cli.nodes: `zavu egress-nodes ...` and `zavu proxy-status`.
local args = require "zavu.cli.args"
local json = require "zavu.cli.json"
local output = require "zavu.cli.output"
local term = require "zavu.cli.term"
local minute = require("zavu.cli.sessions").minute

local M = {}

M.FIELDS = { "id", "label", "senderId", "exitIp", "exitCountry", "net", "lastSeenAt", "createdAt" }

M.COLUMNS = {
  { "ID", "id", flex = 1, keep = true },
  { "LABEL", "label", flex = 4 },
  { "SENDER", "senderId", flex = 2, drop = 3 },
  { "EXIT", function(n) return n.exitCountry or n.exitIp end, flex = 2, drop = 1 },
  { "LAST SEEN", function(n) return minute(n.lastSeenAt) end, flex = 3, min = 10, cut = true },
  { "CREATED", function(n) return minute(n.createdAt) end, flex = 3, min = 10, cut = true, drop = 2 },
}

local function show(ctx, value, order)
  if ctx.opts.json then
    output.print_json(value)
  else
    output.fields(value, order)
  end
  return 0
end

local function need_sender(ctx)
  if not ctx.opts.sender then args.usage_error("missing --sender ID") end
  return ctx.opts.sender
end

function M.list(ctx)
  local nodes, err = ctx.client().egress_nodes.all { senderId = need_sender(ctx) }
  if not nodes then return ctx.fail("listing egress nodes", err) end
  if ctx.opts.json then
    output.print_json(json.array(nodes))
  elseif #nodes == 0 then
    output.note("no egress nodes for sender ", term.clean(ctx.opts.sender))
  else
    output.table(nodes, M.COLUMNS)
  end
  return 0
end

function M.get(ctx)
  local n, err = ctx.client().egress_nodes.get(ctx.args[1])
  if not n then return ctx.fail("egress node " .. ctx.args[1], err) end
  return show(ctx, n, M.FIELDS)
end

function M.create(ctx)
  local body = { senderId = need_sender(ctx), label = ctx.opts.label }
  ctx.check("egress_nodes.create", body)
  local r, err = ctx.client().egress_nodes.create(body)
  if not r then return ctx.fail("creating an egress node", err) end
  return show(ctx, r, { "node", "pairing" })
end

function M.delete(ctx)
  local ok, err = ctx.client().egress_nodes.delete(ctx.args[1])
  if not ok then return ctx.fail("egress node " .. ctx.args[1], err) end
  if ctx.opts.json then
    output.print_json { ok = true, deleted = ctx.args[1] }
  else
    output.say("deleted egress node ", term.clean(ctx.args[1]))
  end
  return 0
end

function M.pairing_token(ctx)
  local r, err = ctx.client().egress_nodes.pairing_token(ctx.args[1])
  if not r then return ctx.fail("egress node " .. ctx.args[1], err) end
  return show(ctx, r, { "pairing", "token", "gatewayUrl", "wsPath", "expiresAt" })
end

function M.proxy_status(ctx)
  local r, err = ctx.client().proxy_status()
  if not r then return ctx.fail("proxy status", err) end
  return show(ctx, r)
end

return M
