-- zavu.webhooks: check that a webhook delivery comes from Zavu, in C
-- (src/zavu_webhook.c: HMAC-SHA256 from libcrypto, a constant-time compare).
--
--   local event, err = zavu.webhooks.verify(raw_body, signature_header, secret, { tolerance = 300 })
--   local header = zavu.webhooks.sign(raw_body, secret, { scheme = "v2" })
--   local ok, err = zavu.webhooks.verify_tool(raw_body, signature_hex, timestamp_ms, secret)
--
-- The signature is checked over the exact bytes received; the JSON is decoded
-- only after it matched. err.code is missing_signature, malformed_signature,
-- timestamp_out_of_range, signature_mismatch or invalid_json; no message ever
-- holds a secret or the digest expected. Misuse (a wrong type, an unknown
-- option) raises at the caller's line.
local core = require "zavu.core"
local failure = require("zavu.methods").failure

-- Private: the user's cjson settings stay theirs. No NaN or hex numbers.
local json = require("cjson.safe").new()
json.decode_invalid_numbers(false)

local M = {}

local type, tostring, error, os_time = type, tostring, error, os.time
local rawlen = rawget(_G, "rawlen") or function(t) return #t end -- (5.1, LuaJIT: # is raw)
local TOLERANCE, FUTURE = core.webhook_tolerance, core.webhook_future

local VERIFY_OPTIONS = { "now", "require_v2", "tolerance" } -- sorted: listed so in messages
local TOOL_OPTIONS = { "now", "tolerance" }
local SIGN_OPTIONS = { "scheme", "t" }
local SCHEMES = { v1 = true, v2 = true, ["v1+v2"] = true }

-- Each check raises at `level` as error() counts it from the checker: 3 is
-- the caller of the public function that called the checker.

local function check_body(fname, body)
  if type(body) ~= "string" then
    error(("bad argument #1 to '%s' (string expected, got %s)"):format(fname, type(body)), 3)
  end
end

-- A string, or a non-empty list of non-empty strings.
local function check_secret(fname, secret, argn, list_ok)
  if type(secret) == "string" then
    if secret == "" then error(("bad argument #%d to '%s' (the secret is empty)"):format(argn, fname), 3) end
    return
  end
  if type(secret) == "table" and list_ok then
    local n = rawlen(secret)
    if n == 0 then error(("bad argument #%d to '%s' (empty list of secrets)"):format(argn, fname), 3) end
    for i = 1, n do
      local s = rawget(secret, i)
      if type(s) ~= "string" or s == "" then
        error(("bad argument #%d to '%s' (secret #%d: non-empty string expected)"):format(argn, fname, i), 3)
      end
    end
    return
  end
  local expected = list_ok and "string or list of strings" or "string"
  error(("bad argument #%d to '%s' (%s expected, got %s)"):format(argn, fname, expected, type(secret)), 3)
end

local function bad_option(fname, name, expected, v)
  local got = type(v) == "number" and tostring(v) or type(v)
  error(("bad option '%s' to '%s' (%s expected, got %s)"):format(name, fname, expected, got), 4)
end

-- now, tolerance and future from opts (a table, or nil).
local function window(fname, opts, argn, known)
  if opts == nil then return os_time(), TOLERANCE, FUTURE, false end
  if type(opts) ~= "table" then
    error(("bad argument #%d to '%s' (table expected, got %s)"):format(argn, fname, type(opts)), 3)
  end
  core.check_names(opts, fname, known, "option") -- raises at the caller's line
  local now, tolerance, require_v2 = opts.now, opts.tolerance, opts.require_v2
  if now == nil then
    now = os_time()
  elseif type(now) ~= "number" or now ~= now or now == math.huge or now == -math.huge then
    bad_option(fname, "now", "finite number of seconds", now)
  end
  if tolerance == nil then
    tolerance = TOLERANCE
  elseif type(tolerance) ~= "number" or tolerance ~= tolerance or tolerance < 0 then
    bad_option(fname, "tolerance", "number of seconds >= 0", tolerance)
  end
  if require_v2 ~= nil and type(require_v2) ~= "boolean" then bad_option(fname, "require_v2", "boolean", require_v2) end
  -- The future side of the window is 60 s, or less when tolerance is less.
  return now, tolerance, tolerance < FUTURE and tolerance or FUTURE, require_v2 == true
end

-- The body decoded, once its signature matched: a JSON object, or nil and
-- the invalid_json error.
local function decode(body)
  -- (lua-cjson stops reading at a NUL byte: no JSON text holds one)
  if not body:find("^[ \t\r\n]*{") or body:find("\0", 1, true) then
    return nil, failure("invalid_json", "the body is signed but is not a JSON object")
  end
  local value, err = json.decode(body)
  if type(value) ~= "table" then
    return nil, failure("invalid_json", "the body is signed but is not JSON: " .. tostring(err))
  end
  return value
end

--- verify(raw_body, signature_header, secret, opts) -> event | nil, err.
-- signature_header is X-Zavu-Signature as received: a string, nil when the
-- request had none, or the list ngx.req.get_headers() gives for a repeated
-- header (refused as malformed). secret: a string or a list of them (one
-- endpoint serving several senders). opts: tolerance (seconds into the past,
-- default 300; the future side is 60 s or tolerance if less), now (the
-- clock, default os.time()), require_v2 (refuse a v1-only header).
-- event is the decoded envelope with event.scheme = "v2" or "v1".
function M.verify(raw_body, signature_header, secret, opts)
  check_body("verify", raw_body)
  local t = type(signature_header)
  if t ~= "string" and t ~= "nil" and t ~= "table" then
    error(("bad argument #2 to 'verify' (string expected, got %s)"):format(t), 2)
  end
  check_secret("verify", secret, 3, true)
  local now, tolerance, future, require_v2 = window("verify", opts, 4, VERIFY_OPTIONS)
  if t == "table" and rawlen(signature_header) == 1 and type(rawget(signature_header, 1)) == "string" then
    signature_header, t = rawget(signature_header, 1), "string" -- a list of one: that header
  end
  if t == "table" then
    return nil, failure("malformed_signature", "X-Zavu-Signature was sent more than once: one header expected")
  end
  local scheme, code, message =
    core.webhook_verify(raw_body, signature_header, secret, now, tolerance, future, require_v2)
  if not scheme then return nil, failure(code, message) end
  local event, err = decode(raw_body)
  if not event then return nil, err end
  event.scheme = scheme
  return event
end

--- sign(raw_body, secret, opts) -> the X-Zavu-Signature value Zavu would
-- send. opts: t (seconds, default os.time()), scheme ("v2" by default,
-- "v1" or "v1+v2", which signs both with one t).
function M.sign(raw_body, secret, opts)
  check_body("sign", raw_body)
  check_secret("sign", secret, 2, false)
  local t, scheme = nil, "v2"
  if opts ~= nil then
    if type(opts) ~= "table" then
      error(("bad argument #3 to 'sign' (table expected, got %s)"):format(type(opts)), 2)
    end
    core.check_names(opts, "sign", SIGN_OPTIONS, "option")
    t, scheme = opts.t, opts.scheme == nil and "v2" or opts.scheme
    if t ~= nil and (type(t) ~= "number" or not (t >= 0 and t < 2 ^ 63) or t ~= math.floor(t)) then
      error(("bad option 't' to 'sign' (whole number of seconds >= 0 expected, got %s)"):format(tostring(t)), 2)
    end
    if not SCHEMES[scheme] then
      error(('bad option \'scheme\' to \'sign\' ("v1", "v2" or "v1+v2" expected, got %s)'):format(tostring(scheme)), 2)
    end
  end
  return (core.webhook_sign(raw_body, secret, t or os_time(), scheme))
end

-- The X-Zavu-Timestamp header's value (ms), if it is a number.
local function header_ms(v)
  if type(v) == "number" then return v end
  if type(v) == "string" and v:match("^%s*%d+%s*$") then return tonumber(v) end
end

--- verify_tool(raw_body, signature_hex, timestamp_ms, secret, opts) -> true | nil, err.
-- A tool-call webhook: X-Zavu-Signature is a bare hex HMAC of the body. Its
-- freshness is the `timestamp` (ms) inside the signed body, checked after the
-- signature; timestamp_ms (X-Zavu-Timestamp, unsigned) is used only for a
-- body that carries none. opts: tolerance, now (as verify).
function M.verify_tool(raw_body, signature_hex, timestamp_ms, secret, opts)
  check_body("verify_tool", raw_body)
  local t = type(signature_hex)
  if t ~= "string" and t ~= "nil" and t ~= "table" then
    error(("bad argument #2 to 'verify_tool' (string expected, got %s)"):format(t), 2)
  end
  local tt = type(timestamp_ms)
  if tt ~= "number" and tt ~= "string" and tt ~= "nil" and tt ~= "table" then
    error(("bad argument #3 to 'verify_tool' (number of milliseconds expected, got %s)"):format(tt), 2)
  end
  check_secret("verify_tool", secret, 4, true)
  local now, tolerance, future = window("verify_tool", opts, 5, TOOL_OPTIONS)
  if t == "table" then
    return nil, failure("malformed_signature", "X-Zavu-Signature was sent more than once: one header expected")
  end
  local ok, code, message = core.webhook_verify_tool(raw_body, signature_hex, secret)
  if not ok then return nil, failure(code, message) end
  local body, err = decode(raw_body)
  if not body then return nil, err end
  local ms, what = body.timestamp, "the tool call's timestamp"
  if type(ms) ~= "number" then
    ms, what = header_ms(timestamp_ms), "X-Zavu-Timestamp (the body has no timestamp)"
  end
  if not ms then
    return nil, failure("timestamp_out_of_range", "the tool call carries no timestamp to check its freshness with")
  end
  ok, code, message = core.webhook_check_time(ms / 1000, now, tolerance, future, what)
  if not ok then return nil, failure(code, message) end
  return true
end

return M
