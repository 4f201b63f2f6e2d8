-- zavu.cli.senders: `zavu senders list|get|update|regenerate-secret`.
local args = require "zavu.cli.args"
local json = require "zavu.cli.json"
local output = require "zavu.cli.output"
local term = require "zavu.cli.term"

local M = {}

M.FIELDS = { "id", "name", "phoneNumber", "isDefault", "channels", "webhook", "createdAt", "updatedAt" }

local function webhook(s)
  local w = s.webhook
  if type(w) ~= "table" or not w.url then return nil end
  return w.active == false and (w.url .. " (paused)") or w.url
end

local function signature(s) return type(s.webhook) == "table" and s.webhook.signatureVersion or nil end

-- SIGNATURE says which receivers still get v1 only (see webhooks.md, 7).
M.COLUMNS = {
  { "ID", "id", flex = 1, keep = true },
  { "NAME", "name", flex = 3 },
  { "PHONE", "phoneNumber", flex = 2, drop = 2 },
  { "DEFAULT", function(s) return s.isDefault and "yes" or "no" end, drop = 1 },
  { "WEBHOOK", webhook, flex = 4 },
  { "SIGNATURE", signature },
}

local function show(ctx, sender)
  if ctx.opts.json then
    output.print_json(sender)
  else
    output.fields(sender, M.FIELDS)
  end
  return 0
end

function M.list(ctx)
  local senders, err = ctx.client().senders.all()
  if not senders then return ctx.fail("listing senders", err) end
  if ctx.opts.json then
    output.print_json(json.array(senders))
    return 0
  end
  if #senders == 0 then
    output.note("no senders")
    return 0
  end
  output.table(senders, M.COLUMNS)
  local v1 = 0
  for _, s in ipairs(senders) do
    if signature(s) == "v1" then v1 = v1 + 1 end
  end
  if v1 > 0 then
    output.note(
      ("zavu: %d sender%s sign%s with v1 only: move to v1+v2, check your receiver, then v2 "):format(
        v1,
        v1 == 1 and "" or "s",
        v1 == 1 and "s" or ""
      ) .. "(zavu senders update ID --signature-version v1+v2)"
    )
  end
  return 0
end

function M.get(ctx)
  local s, err = ctx.client().senders.get(ctx.args[1])
  if not s then return ctx.fail("sender " .. ctx.args[1], err) end
  return show(ctx, s)
end

-- "a, b,c" -> { "a", "b", "c" }; the API judges the names.
local function events(text)
  local list = json.array()
  for item in (text .. ","):gmatch("([^,]*),") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then list[#list + 1] = item end
  end
  if #list == 0 then args.usage_error("bad value for --webhook-events: '%s' (EVENT[,EVENT] expected)", text) end
  return list
end

function M.update(ctx)
  local o = ctx.opts
  if o.webhook_url and o.no_webhook then args.usage_error("--webhook-url and --no-webhook: one or the other") end
  if o.active and o.inactive then args.usage_error("--active and --inactive: one or the other") end
  local body = {
    webhookUrl = o.no_webhook and ctx.zavu.null or o.webhook_url,
    webhookEvents = o.webhook_events and events(o.webhook_events),
    webhookSignatureVersion = o.signature_version,
  }
  if o.active or o.inactive then body.webhookActive = o.active == true end
  if next(body) == nil then
    args.usage_error(
      "nothing to change: give --webhook-url, --no-webhook, --webhook-events, --signature-version, --active or --inactive"
    )
  end
  local s, err = ctx.client().senders.update(ctx.args[1], body)
  if not s then return ctx.fail("updating sender " .. ctx.args[1], err) end
  return show(ctx, s)
end

local function confirm(id)
  io.stderr:write(
    ("Regenerate the webhook secret of sender %s? The old secret stops working at once. [y/N] "):format(term.clean(id))
  )
  io.stderr:flush()
  local answer = io.stdin:read("*l")
  return answer ~= nil and (answer:match("^%s*[yY]%s*$") or answer:match("^%s*[yY][eE][sS]%s*$")) ~= nil
end

function M.regenerate_secret(ctx)
  local id = ctx.args[1]
  if not ctx.opts.yes then
    if not (term.isatty(0) and term.isatty(2)) then
      args.usage_error(
        "not on a terminal, so no one to ask: the old secret stops working at once; add --yes to regenerate it"
      )
    end
    if not confirm(id) then
      if ctx.interrupted() then return 130 end
      output.note("zavu: nothing changed")
      return 1
    end
  end
  if ctx.interrupted() then return 130 end
  local r, err = ctx.client().senders.regenerate_webhook_secret(id)
  if not r then return ctx.fail("sender " .. id, err) end
  if ctx.opts.json then
    output.print_json(r)
  else
    output.say("secret: ", term.clean(r.secret))
    output.note("zavu: deploy it to the receiver now: the old secret no longer verifies")
  end
  return 0
end

return M
