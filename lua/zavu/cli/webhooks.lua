-- zavu.cli.webhooks: `zavu webhooks sign|verify` and `zavu listen`, with the
-- library's own verifier (zavu.webhooks). Their words and flags are in
-- M.tree, which zavu.cli.commands adds to the command tree. The secret comes
-- from ZAVU_WEBHOOK_SECRET or --secret-file, never from a flag's value (it
-- would show in process lists and shell history). No API key is needed.
local args = require "zavu.cli.args"
local output = require "zavu.cli.output"
local term = require "zavu.cli.term"

local M = {}

local MAX_BODY = 1024 * 1024 -- as the nginx receiver's default
local REQUEST_SECONDS = 10 -- a delivery that takes longer to arrive is dropped

-- ---- the words and flags ----

local secret_file = {
  name = "--secret-file",
  value = "FILE",
  kind = "string",
  key = "secret_file",
  help = "the signing secret, or one per line for several senders (default $ZAVU_WEBHOOK_SECRET)",
}
local tolerance = {
  name = "--tolerance",
  value = "SECS",
  kind = "seconds",
  key = "tolerance",
  help = "how old a signature may be, default 5m",
}
local require_v2 = { name = "--require-v2", key = "require_v2", help = "refuse a signature with v1 only" }

local function leaf(t)
  t.leaf, t.offline = true, true -- offline: no API key, no client
  return t
end

M.tree = {
  webhooks = {
    summary = "sign and verify webhook deliveries (X-Zavu-Signature)",
    commands = {
      sign = leaf {
        run = "webhooks.sign",
        flags = {
          {
            name = "--scheme",
            value = "S",
            kind = "choice",
            choices = { "v1", "v2", "v1+v2" },
            key = "scheme",
            help = "v2 (the default), v1, or v1+v2 (both, one t)",
          },
          {
            name = "--t",
            value = "SECONDS",
            kind = "count",
            min = 0,
            max = 99999999999,
            key = "t",
            help = "the signature's Unix time, default now",
          },
          secret_file,
        },
        usage = "[--scheme v1|v2|v1+v2] [--t SECONDS] [--secret-file FILE] < BODY",
        summary = "print the X-Zavu-Signature value for the body on stdin",
      },
      verify = leaf {
        run = "webhooks.verify",
        flags = {
          {
            name = "--signature",
            value = "VALUE",
            kind = "string",
            key = "signature",
            help = "the X-Zavu-Signature value received (required)",
          },
          secret_file,
          tolerance,
          require_v2,
          {
            name = "--now",
            value = "SECONDS",
            kind = "count",
            min = 0,
            max = 99999999999,
            key = "now",
            help = "judge the signature's age at this Unix time, not the clock's",
          },
        },
        usage = "--signature VALUE [--secret-file FILE] [--now SECONDS] < BODY",
        summary = "check the body on stdin: print the event (exit 0) or why not (exit 1)",
      },
    },
  },
  listen = leaf {
    run = "webhooks.listen",
    flags = {
      {
        name = "--port",
        value = "N",
        kind = "count",
        min = 0,
        max = 65535,
        key = "port",
        help = "on 127.0.0.1, default 8787 (0: any free port)",
      },
      {
        name = "--forward-to",
        value = "URL",
        kind = "url",
        key = "forward_to",
        help = "also POST each verified delivery (its bytes and headers) to a local app: http://...",
      },
      secret_file,
      tolerance,
      require_v2,
    },
    usage = "[--port N] [--forward-to URL] [--secret-file FILE]",
    summary = "a local receiver: verify each delivery, print it, answer 200, until Ctrl-C",
  },
}

M.ORDER = { "webhooks", "listen", "sign", "verify" }

-- ---- shared ----

-- The secrets: the lines of --secret-file (blank lines and # comments
-- skipped), else $ZAVU_WEBHOOK_SECRET.
local function secrets(ctx)
  local list = {}
  local path = ctx.opts.secret_file
  if path then
    local f, err = io.open(path, "rb")
    local text = f and f:read("*a")
    if f then f:close() end
    if not text then args.usage_error("cannot read --secret-file %s: %s", path, tostring(err):gsub("^[^:]*: ", "")) end
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
      line = line:match("^%s*(.-)%s*$")
      if line ~= "" and line:sub(1, 1) ~= "#" then list[#list + 1] = line end
    end
    if #list == 0 then args.usage_error("--secret-file %s holds no secret", path) end
  else
    local s = os.getenv("ZAVU_WEBHOOK_SECRET")
    if s and s ~= "" then list[1] = s end
  end
  if #list == 0 then
    args.usage_error("no webhook secret: set ZAVU_WEBHOOK_SECRET or pass --secret-file FILE (never the secret itself)")
  end
  return list
end

local function verify_options(ctx, now)
  return { tolerance = ctx.opts.tolerance, require_v2 = ctx.opts.require_v2 or nil, now = now }
end

local function stdin_body()
  local body = io.stdin:read("*a") or ""
  if #body > 64 * MAX_BODY then args.usage_error("the body on stdin is over 64 MiB") end
  return body
end

-- ---- sign, verify ----

function M.sign(ctx)
  local list = secrets(ctx)
  if #list > 1 then args.usage_error("sign takes one secret; --secret-file holds %d", #list) end
  local header = ctx.zavu.webhooks.sign(stdin_body(), list[1], { t = ctx.opts.t, scheme = ctx.opts.scheme })
  if ctx.opts.json then
    output.print_json { signature = header }
  else
    output.say(header)
  end
  return 0
end

function M.verify(ctx)
  if not ctx.opts.signature then args.usage_error("missing --signature (the X-Zavu-Signature value received)") end
  local list = secrets(ctx)
  local event, err = ctx.zavu.webhooks.verify(stdin_body(), ctx.opts.signature, list, verify_options(ctx, ctx.opts.now))
  if not event then return ctx.fail(nil, err) end
  output.print_json(event)
  return 0
end

-- ---- listen ----

-- One readable line for an event: time, type, id, from, text or status, group.
function M.describe(event)
  local data = type(event.data) == "table" and event.data or {}
  local ms = tonumber(event.timestamp)
  local when = os.date("!%Y-%m-%dT%H:%M:%SZ", ms and math.floor(ms / 1000) or os.time())
  local parts = { when, tostring(event.type or "?"), tostring(event.id or "?") }
  if type(data.from) == "string" then parts[#parts + 1] = "from " .. data.from end
  if type(data.text) == "string" then
    local text = data.text
    if #text > 200 then text = text:sub(1, 200) .. "…" end
    parts[#parts + 1] = '"' .. text .. '"'
  elseif type(data.status) == "string" then
    parts[#parts + 1] = data.status
  end
  if type(data.groupName) == "string" then
    parts[#parts + 1] = "[group " .. data.groupName .. "]"
  elseif data.isGroup == true then
    parts[#parts + 1] = "[group]"
  end
  return term.clean(table.concat(parts, "  "))
end

local REASONS = {
  [200] = "OK",
  [400] = "Bad Request",
  [401] = "Unauthorized",
  [405] = "Method Not Allowed",
  [408] = "Request Timeout",
  [411] = "Length Required",
  [413] = "Payload Too Large",
  [502] = "Bad Gateway",
}

local function respond(client, status, code)
  local body = code and ('{"error":"' .. code .. '"}\n') or '{"ok":true}\n'
  client:send(
    ("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s"):format(
      status,
      REASONS[status] or "Error",
      #body,
      status == 405 and "Allow: POST\r\n" or "",
      body
    )
  )
end

-- The HTTP request on client: method, headers ({ {name, value} }, and by
-- lower-case name), body; or nil and the status to answer.
local function read_request(ctx, socket, client)
  local deadline = socket.gettime() + REQUEST_SECONDS
  -- receive(pattern) through short timeouts, so that Ctrl-C is seen.
  local function recv(pattern)
    local got
    repeat
      local data, err, partial = client:receive(pattern, got)
      if data then return data end
      if err ~= "timeout" then return nil end
      got = partial
    until ctx.interrupted() or socket.gettime() > deadline
  end
  local line = recv("*l")
  local method = line and line:match("^(%u+) %S+ HTTP/1%.[01]$")
  if not method then return nil, 400 end
  local headers, by_name = {}, {}
  while true do
    line = recv("*l")
    if not line then return nil, 400 end
    if line == "" then break end
    local name, value = line:match("^([^:%s]+):%s*(.-)%s*$")
    if not name or #headers >= 100 then return nil, 400 end
    headers[#headers + 1] = { name, value }
    local lower = name:lower()
    by_name[lower] = by_name[lower] and (by_name[lower] .. ", " .. value) or value
  end
  if method ~= "POST" then return nil, 405 end
  local body
  if (by_name["transfer-encoding"] or ""):lower():find("chunked", 1, true) then
    local parts, total = {}, 0
    while true do
      local size = tonumber((recv("*l") or ""):match("^%x+"), 16)
      if not size then return nil, 400 end
      if size == 0 then break end
      total = total + size
      if total > MAX_BODY then return nil, 413 end
      parts[#parts + 1] = recv(size)
      if not parts[#parts] or recv("*l") ~= "" then return nil, 400 end
    end
    repeat -- trailers
      line = recv("*l")
    until not line or line == ""
    body = table.concat(parts)
  else
    local length = by_name["content-length"]
    if not length then return nil, 411 end
    length = tonumber(length:match("^%d+$"))
    if not length then return nil, 400 end
    if length > MAX_BODY then return nil, 413 end
    body = length == 0 and "" or recv(length)
    if not body then return nil, 408 end
  end
  return { method = method, headers = headers, by_name = by_name, body = body }
end

-- POST the delivery's bytes and headers to url; the status it answered, or
-- nil and why not.
local function forward(url, request)
  local http, ltn12 = require "socket.http", require "ltn12"
  local headers = {}
  for _, h in ipairs(request.headers) do
    local lower = h[1]:lower()
    if lower ~= "host" and lower ~= "content-length" and lower ~= "transfer-encoding" and lower ~= "connection" then
      headers[lower] = headers[lower] and (headers[lower] .. ", " .. h[2]) or h[2]
    end
  end
  headers["content-length"] = tostring(#request.body)
  http.TIMEOUT = REQUEST_SECONDS -- (LuaSocket's default is a minute)
  local ok, code = http.request {
    url = url,
    method = "POST",
    headers = headers,
    source = ltn12.source.string(request.body),
    sink = ltn12.sink.null(),
  }
  if not ok then return nil, tostring(code) end
  return code
end

local function serve_one(ctx, socket, client, list)
  local request, status = read_request(ctx, socket, client)
  if not request then
    if not ctx.interrupted() then
      output.note("zavu: refused a request: HTTP ", status)
      respond(client, status, status == 405 and "method_not_allowed" or status == 413 and "body_too_large" or nil)
    end
    return
  end
  local event, err =
    ctx.zavu.webhooks.verify(request.body, request.by_name["x-zavu-signature"], list, verify_options(ctx, os.time()))
  if not event then
    output.note(term.paint(2, "red", "zavu: "), "refused a delivery: ", output.error_line(err))
    return respond(client, err.code == "invalid_json" and 400 or 401, err.code)
  end
  if ctx.opts.json then
    output.print_json(event)
  else
    output.say(M.describe(event))
  end
  io.stdout:flush()
  if not ctx.opts.forward_to then return respond(client, 200) end
  local code, why = forward(ctx.opts.forward_to, request)
  if not code then
    output.note(term.paint(2, "red", "zavu: "), "could not forward ", term.clean(event.id), ": ", term.clean(why))
    return respond(client, 502, "forward_failed")
  end
  output.note("zavu: forwarded ", term.clean(event.id), " to ", ctx.opts.forward_to, ": HTTP ", code)
  respond(client, code, code >= 300 and "forwarded_app_failed" or nil)
end

function M.listen(ctx)
  local list = secrets(ctx)
  if ctx.opts.forward_to and not ctx.opts.forward_to:match("^[Hh][Tt][Tt][Pp]://") then
    args.usage_error("--forward-to takes an http:// URL (a local app)")
  end
  local ok, socket = pcall(require, "socket")
  if not ok then
    output.note("zavu: listen needs LuaSocket: apt-get install lua-socket, or luarocks install luasocket")
    return 2
  end
  local port = ctx.opts.port or 8787
  local server, err = socket.bind("127.0.0.1", port)
  if not server then
    output.error(ctx, nil, {
      code = "connection_error",
      message = ("cannot listen on 127.0.0.1:%d: %s"):format(port, tostring(err)),
    })
    return 1
  end
  server:settimeout(0.2) -- wake up to see Ctrl-C
  local _, bound = server:getsockname()
  output.note(("zavu: listening on http://127.0.0.1:%s/ for signed deliveries (Ctrl-C stops)"):format(bound))
  io.stderr:flush()
  while not ctx.interrupted() do
    local client = server:accept()
    if client then
      client:settimeout(0.2)
      local done, problem = pcall(serve_one, ctx, socket, client, list)
      client:close()
      if not done then output.note("zavu: ", term.clean(problem)) end
    end
  end
  server:close()
  return 130
end

return M
