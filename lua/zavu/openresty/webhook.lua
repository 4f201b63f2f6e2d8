-- zavu.openresty.webhook: a receiver for Zavu's signed webhook deliveries in
-- an nginx content handler, each event handled once.
--
--   lua_shared_dict zavu_webhooks 10m;
--   location = /webhooks/zavu {
--       content_by_lua_block {
--           require("zavu.openresty").webhook {
--               secret = os.getenv("ZAVU_WEBHOOK_SECRET"),  -- or a list
--               dedupe = "zavu_webhooks",                    -- the shared dict of handled ids
--               on_event = function(event) ... end,
--           }
--       }
--   }
--
-- Answers: 405 to anything but POST; 413 past max_body (default 1 MiB); 401
-- to every signature failure (its reason logged at warn, never the secret or
-- the body); 400 to a signed body that is not a JSON object (or, with dedupe,
-- has no id); 200 once on_event returned. If on_event raises: 500, and the
-- event is not remembered, so Zavu's retry brings it again. An id already
-- handled: 200 without calling on_event (ids are kept 6 h: Zavu retries for
-- 5 h 21 min); the same id being handled right now by another request: 409,
-- and Zavu retries later. respond = "first" answers 200 before on_event runs,
-- in a timer: fast, but an event whose handler raises is then lost.
-- Verification runs inline: microseconds of CPU, no worker thread.
local core = require "zavu.core"
local webhooks = require "zavu.webhooks"

local M = {}

local MAX_BODY = 1024 * 1024
local REMEMBER = 6 * 3600 -- seconds a handled id is kept: past Zavu's last retry
-- Seconds an id stays claimed by a request that never finished (a worker
-- that died in on_event): its retries get 409 until then.
local IN_PROGRESS = 300
local HANDLING, HANDLED = "handling", "handled"

local KNOWN = { "dedupe", "max_body", "on_event", "require_v2", "respond", "secret", "tolerance" } -- sorted

local function bad(name, expected, v, extra)
  error(("bad option '%s' to 'webhook' (%s expected, got %s)%s"):format(name, expected, type(v), extra or ""), 4)
end

-- The options, checked (raises at the content block's line): the dict, max_body.
local function check(opts)
  if type(opts) ~= "table" then
    error(("bad argument #1 to 'webhook' (table expected, got %s)"):format(type(opts)), 3)
  end
  core.check_names(opts, "webhook", KNOWN, "option")
  local secret = opts.secret
  if type(secret) ~= "string" and type(secret) ~= "table" then
    bad(
      "secret",
      "string or list of strings",
      secret,
      secret == nil
          and " (from os.getenv? nginx clears its workers' environment: add `env ZAVU_WEBHOOK_SECRET;` at the top of nginx.conf)"
        or nil
    )
  end
  if secret == "" then error("bad option 'secret' to 'webhook' (the secret is empty)", 3) end
  if type(opts.on_event) ~= "function" then bad("on_event", "function", opts.on_event) end
  local dict
  if opts.dedupe ~= nil then
    if type(opts.dedupe) ~= "string" then bad("dedupe", "the name of a lua_shared_dict", opts.dedupe) end
    dict = ngx.shared[opts.dedupe]
    if not dict then
      error(
        ("bad option 'dedupe' to 'webhook' (no lua_shared_dict named '%s': add `lua_shared_dict %s 10m;` to http {})"):format(
          opts.dedupe,
          opts.dedupe
        ),
        3
      )
    end
  end
  local max_body = opts.max_body
  if max_body == nil then
    max_body = MAX_BODY
  elseif type(max_body) ~= "number" or max_body < 1 or max_body ~= math.floor(max_body) or max_body == math.huge then
    error(
      ("bad option 'max_body' to 'webhook' (whole number of bytes >= 1 expected, got %s)"):format(tostring(max_body)),
      3
    )
  end
  if opts.respond ~= nil and opts.respond ~= "first" and opts.respond ~= "after" then
    error(
      ("bad option 'respond' to 'webhook' (\"first\" or \"after\" expected, got %s)"):format(tostring(opts.respond)),
      3
    )
  end
  return dict, max_body
end

local function answer(status, code)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  if status == 405 then ngx.header["Allow"] = "POST" end
  ngx.print(code and ('{"error":"' .. code .. '"}\n') or '{"ok":true}\n')
  return status
end

-- The request body as received: from memory, or from the temporary file nginx
-- spooled it to (bigger than client_body_buffer_size). nil when over max_body.
local function read_body(max_body)
  local length = tonumber(ngx.var.http_content_length)
  if length and length > max_body then return nil end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if not body then
    local path = ngx.req.get_body_file()
    if not path then return "" end
    local f, err = io.open(path, "rb")
    if not f then error("zavu webhook: cannot read the spooled request body: " .. tostring(err), 0) end
    local size = f:seek("end")
    if size > max_body then
      f:close()
      return nil
    end
    f:seek("set")
    body = f:read("*a")
    f:close()
  end
  if #body > max_body then return nil end
  return body
end

-- on_event(event), remembered in dict when it returns; forgotten when it
-- raises, so that Zavu's retry brings the event again.
local function handle(on_event, event, dict)
  local ok, err = pcall(on_event, event)
  if ok then
    if dict then
      local stored, serr = dict:set(event.id, HANDLED, REMEMBER)
      if not stored then ngx.log(ngx.ERR, "zavu webhook: could not remember event ", event.id, ": ", serr) end
    end
    return true
  end
  if dict then dict:delete(event.id) end
  ngx.log(
    ngx.ERR,
    "zavu webhook: on_event raised for event ",
    tostring(event.id),
    " (",
    tostring(event.type),
    "): ",
    tostring(err)
  )
  return false
end

-- respond = "first": the handler runs here, after the request ended. (The
-- content block returned normally, so the locals its handler uses are
-- closed over; ending it with ngx.exit would leave them nil here.)
local function later(_, on_event, event, dict) handle(on_event, event, dict) end

--- webhook(opts) -> the status answered. Options: secret, on_event, dedupe
-- (a lua_shared_dict's name), max_body (bytes), respond ("first" | "after"),
-- tolerance and require_v2 (as zavu.webhooks.verify).
function M.webhook(opts)
  local dict, max_body = check(opts)
  if ngx.req.get_method() ~= "POST" then return answer(405, "method_not_allowed") end
  local body = read_body(max_body)
  if not body then return answer(413, "body_too_large") end

  local event, err = webhooks.verify(
    body,
    ngx.var.http_x_zavu_signature,
    opts.secret,
    { now = ngx.time(), tolerance = opts.tolerance, require_v2 = opts.require_v2 }
  )
  if not event then
    ngx.log(ngx.WARN, "zavu webhook: refused (", err.code, "): ", err.message)
    return answer(err.code == "invalid_json" and 400 or 401, err.code)
  end

  if dict then
    local id = event.id
    if type(id) ~= "string" or id == "" then
      ngx.log(ngx.WARN, "zavu webhook: refused a signed event without an id")
      return answer(400, "invalid_event")
    end
    local claimed, cerr = dict:add(id, HANDLING, IN_PROGRESS)
    if not claimed then
      if cerr ~= "exists" then
        ngx.log(ngx.ERR, "zavu webhook: the dedupe dict refused event ", id, ": ", cerr)
        return answer(500, "dedupe_failed")
      end
      if dict:get(id) == HANDLED then
        ngx.log(ngx.INFO, "zavu webhook: event ", id, " already handled")
        return answer(200)
      end
      ngx.log(ngx.INFO, "zavu webhook: event ", id, " is being handled by another request")
      return answer(409, "in_progress")
    end
  end

  if opts.respond == "first" then
    local ok, terr = ngx.timer.at(0, later, opts.on_event, event, dict)
    if not ok then
      if dict then dict:delete(event.id) end
      ngx.log(ngx.ERR, "zavu webhook: no timer for the handler: ", terr)
      return answer(503, "no_timer")
    end
    local status = answer(200)
    ngx.eof()
    return status
  end
  if handle(opts.on_event, event, dict) then return answer(200) end
  return answer(500, "handler_failed")
end

return M
