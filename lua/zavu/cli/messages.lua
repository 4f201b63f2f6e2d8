-- zavu.cli.messages: `zavu messages send|list|get`. Each takes the context
-- made by zavu.cli (flags, words, client) and returns the exit status.
local args = require "zavu.cli.args"
local json = require "zavu.cli.json"
local output = require "zavu.cli.output"
local term = require "zavu.cli.term"
local minute = require("zavu.cli.sessions").minute

local M = {}

M.FIELDS = {
  "id",
  "status",
  "to",
  "from",
  "channel",
  "messageType",
  "text",
  "content",
  "senderId",
  "conversationId",
  "errorCode",
  "errorMessage",
  "createdAt",
  "updatedAt",
}

M.COLUMNS = {
  { "ID", "id", flex = 1, keep = true },
  { "TO", "to", flex = 2 },
  { "CHANNEL", "channel", flex = 1, drop = 2 },
  { "TYPE", "messageType", flex = 1, drop = 1 },
  { "STATUS", "status", status = true },
  { "CREATED", function(m) return minute(m.createdAt) end, flex = 3, min = 10, cut = true, drop = 3 },
  { "TEXT", "text", flex = 5 },
}

local function show(ctx, message)
  if ctx.opts.json then
    output.print_json(message)
  else
    output.fields(message, M.FIELDS)
  end
  return 0
end

-- --text, or with "-" all of standard input (less one final newline).
local function text_of(o)
  if o.text ~= "-" then return o.text end
  local s = io.stdin:read("*a") or ""
  s = s:gsub("\r?\n$", "")
  if s == "" then args.usage_error("--text -: standard input is empty") end
  return s
end

function M.send(ctx)
  local o = ctx.opts
  if not o.to then args.usage_error("missing --to (a phone number, an email address or a group JID)") end
  if o.media_url and not o.type then
    args.usage_error("--media-url goes with --type (image, video, audio, document or sticker)")
  end
  local text = o.text and text_of(o)
  if not text and not o.media_url then args.usage_error("missing --text (- reads it from standard input)") end
  local m, err = ctx.client().messages.send {
    to = o.to,
    channel = o.channel,
    messageType = o.type,
    text = text,
    content = o.media_url and { mediaUrl = o.media_url } or nil,
    idempotencyKey = o.idempotency_key,
    sender = o.sender,
  }
  if m then return show(ctx, m) end
  local status = ctx.fail("sending to " .. o.to, err)
  local key = type(err.details) == "table" and err.details.idempotencyKey
  -- It may have left: the same key again can only send it once.
  if key and err.status ~= 409 and (err.attempts or 0) > 0 and status ~= 130 then
    output.note("zavu: to try again without ever sending it twice: --idempotency-key ", term.clean(key))
  end
  return status
end

function M.list(ctx)
  local o = ctx.opts
  local limit = o.limit or 50
  local query = { channel = o.channel, status = o.status, to = o.to, limit = math.min(limit, 100) }
  local rows, client = json.array(), ctx.client()
  local ok, err = pcall(function()
    for m in client.messages.each(query) do
      rows[#rows + 1] = m
      if #rows >= limit then break end
    end
  end)
  if not ok then
    if type(err) ~= "table" or not err.code then error(err, 0) end
    return ctx.fail("listing messages", err)
  end
  if o.json then
    output.print_json(rows)
  elseif #rows == 0 then
    output.note("no messages")
  else
    output.table(rows, M.COLUMNS)
  end
  return 0
end

function M.get(ctx)
  local m, err = ctx.client().messages.get(ctx.args[1])
  if not m then return ctx.fail("message " .. ctx.args[1], err) end
  return show(ctx, m)
end

return M
