-- fuzz_api.lua - a Lua-level fuzzer for zavu against the mock Zavu API.
--
-- Random sequences of new, delete, delete_many, close, error_from_response,
-- tostring, garbage collection, coroutines and cancel_all, with hostile user
-- code everywhere the library runs some: on_progress callbacks and option
-- tables whose __index re-enter the client (close it, call it, cancel, raise,
-- yield, collect garbage, return fresh strings or bad numbers), finalizers
-- that call clients from inside the collector. Every outcome is checked
-- against a model of what the library promises (see check_* below); the
-- first broken promise stops the run with the seed and the step log.
--
-- Run by scripts/run-fuzz-api (make fuzz-api), which starts the mock and
-- sets: ZAVU_MOCK_* (mockctl's env), FUZZ_API_SEED (any integer; random when
-- unset), FUZZ_API_SECONDS (default 60), FUZZ_API_STEPS (stop after that many
-- steps: for replays), FUZZ_API_LOG (a file that gets every step as it
-- starts, flushed, so a crash leaves the steps that led to it).
--
-- Replays: the seed fixes every choice a step makes (each step has its own
-- generator, derived from the seed and the step number), so a replay makes
-- the same calls in the same order; only what depends on timing (the order
-- in which a batch's transfers finish, hence which on_progress call does
-- what) may differ within a step.
--
-- Only 127.0.0.1 is ever contacted: every base_url is the mock's, a closed
-- port there, or one the library refuses before connecting (see URLS).
local zavu = require "zavu"
local core = require "zavu.core"
local cjson_safe = require "cjson.safe"
-- As the library's private instance: strict numbers, nesting of at most 64.
local json_decode
do
  local j = cjson_safe.new()
  j.decode_invalid_numbers(false)
  j.decode_max_depth(64)
  json_decode = j.decode
end

local unpack = table.unpack or unpack
local LUA = (rawget(_G, "jit") and jit.version) or _VERSION
local IS54 = _VERSION == "Lua 5.4" and not rawget(_G, "jit")
local M31 = 2147483647

local function env(name, dflt)
  local v = os.getenv(name)
  if v == nil or v == "" then return dflt end
  return v
end

local HTTP_PORT = assert(tonumber(env("ZAVU_MOCK_HTTP_PORT")), "ZAVU_MOCK_HTTP_PORT not set: use scripts/run-fuzz-api")
local HTTPS_PORT = assert(tonumber(env("ZAVU_MOCK_HTTPS_PORT")))
local EXPIRED_PORT = assert(tonumber(env("ZAVU_MOCK_EXPIRED_PORT")))
local WRONGHOST_PORT = assert(tonumber(env("ZAVU_MOCK_WRONGHOST_PORT")))
local CA_FILE = assert(env("ZAVU_MOCK_CA_FILE"))
local CA_PATH = assert(env("ZAVU_MOCK_CA_PATH"))
-- The environment must not supply a key or a URL: a client without base_url
-- would then talk to the real API.
assert(
  not env("ZAVUDEV_API_KEY") and not env("ZAVUDEV_BASE_URL"),
  "unset ZAVUDEV_API_KEY and ZAVUDEV_BASE_URL before fuzzing"
)

local SEED = tonumber(env("FUZZ_API_SEED", "")) or (os.time() * 7919 + math.floor(os.clock() * 1e6)) % (M31 - 1)
SEED = math.floor(SEED) % (M31 - 1) + 0
local SECONDS = tonumber(env("FUZZ_API_SECONDS", "60"))
local MAX_STEPS = tonumber(env("FUZZ_API_STEPS", ""))
local LOG_FILE = env("FUZZ_API_LOG")

local HTTP_URL = "http://127.0.0.1:" .. HTTP_PORT
local HTTPS_URL = "https://127.0.0.1:" .. HTTPS_PORT
-- A key that must never show in an error: distinctive enough to grep for.
local KEY = "zv_live_fuzzSECRET" .. SEED .. "x9q"
local KEY_MARK = "fuzzSECRET"

---------------------------------------------------------------------------
-- randomness: Park-Miller, exact in doubles, the same on every interpreter

local function new_rng(seed)
  local s = seed % (M31 - 1) + 1
  local r = {}
  local function nxt()
    s = (s * 48271) % M31
    return s
  end
  function r.float() return (nxt() - 1) / (M31 - 1) end
  function r.int(a, b) return a + math.floor(r.float() * (b - a + 1)) end
  function r.chance(p) return r.float() < p end
  function r.pick(t) return t[r.int(1, #t)] end
  -- weighted: t = { {w, value}, ... }
  function r.weighted(t)
    local sum = 0
    for i = 1, #t do
      sum = sum + t[i][1]
    end
    local x = r.float() * sum
    for i = 1, #t do
      x = x - t[i][1]
      if x < 0 then return t[i][2] end
    end
    return t[#t][2]
  end
  for _ = 1, 3 do
    nxt()
  end
  return r
end

local R = new_rng(SEED)
local function step_rng(step) return new_rng((SEED * 40503 + step * 69069 + 12345) % (M31 - 1)) end

---------------------------------------------------------------------------
-- the step log: a ring kept in memory, and every line in FUZZ_API_LOG

local ring, ring_n, RING_MAX = {}, 0, 400
local logf = LOG_FILE and io.open(LOG_FILE, "w")
local STEP = 0
local function log(depth, fmt, ...)
  local ok, line = pcall(string.format, fmt, ...)
  if not ok then line = fmt end
  line = ("%6d %s%s"):format(STEP, ("  "):rep(depth), line)
  ring_n = ring_n + 1
  ring[(ring_n - 1) % RING_MAX + 1] = line
  if logf then
    logf:write(line, "\n")
    logf:flush()
  end
end

local function show(v, depth)
  local t = type(v)
  if t == "string" then
    local s = v
    if #s > 60 then s = s:sub(1, 40) .. ("...(%d bytes)"):format(#v) end
    return (("%q"):format(s):gsub("\n", "n"))
  elseif t == "number" then
    if v ~= v then return "nan" end
    return tostring(v)
  elseif t == "table" then
    depth = depth or 0
    if depth > 1 then return "{...}" end
    local parts = {}
    for k, x in pairs(v) do
      if #parts >= 8 then
        parts[#parts + 1] = "..."
        break
      end
      parts[#parts + 1] = tostring(k) .. "=" .. show(x, depth + 1)
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return tostring(v)
end

---------------------------------------------------------------------------
-- failures

local FAIL_MARK = setmetatable({}, { __tostring = function() return "fuzz_api failure" end })
local FAILED -- the first broken promise, as a string
local stats = {
  batches = 0,
  calls = 0,
  ids = 0,
  raises = 0,
  busy = 0,
  cancels = 0,
  clients = 0,
  codes = {},
  coroutines = 0,
  finalizers = 0,
  efr = 0,
  tostrings = 0,
  progress = 0,
}

local function fail(fmt, ...)
  local ok, msg = pcall(string.format, fmt, ...)
  if not ok then msg = fmt end
  if not FAILED then
    FAILED = msg
    log(0, "FAILURE: %s", msg)
    if debug and debug.traceback then FAILED = FAILED .. "\n" .. debug.traceback("fuzzer stack:", 2) end
  end
  error(FAIL_MARK, 0)
end

local function propagate_failure()
  if FAILED then error(FAIL_MARK, 0) end
end

---------------------------------------------------------------------------
-- what the library documents

local function set(list)
  local s = {}
  for _, v in ipairs(list) do
    s[v] = true
  end
  return s
end
local LOCAL_CODES = set {
  "client_busy",
  "cancelled",
  "invalid_argument",
  "missing_api_key",
  "test_mode_key",
  "insecure_transport",
  "timeout",
  "connection_error",
  "tls_error",
  "invalid_response",
}
local STATUS_CODES = set {
  "bad_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "unprocessable_entity",
  "rate_limited",
  "server_error",
  "http_error",
}
-- Codes the mock puts in its JSON bodies (spec/mock/zavu_mock.lua).
local MOCK_CODES = set {
  "session_not_found",
  "legacy_not_found",
  "session_busy",
  "try_again",
  "big_body",
  "echo",
  "unauthorized",
  "bad_path",
  "route_not_found",
  "method_not_allowed",
}

local function code_for_status(s)
  local m = {
    [400] = "bad_request",
    [401] = "unauthorized",
    [403] = "forbidden",
    [404] = "not_found",
    [409] = "conflict",
    [422] = "unprocessable_entity",
    [429] = "rate_limited",
  }
  if m[s] then return m[s] end
  return (s >= 500 and s <= 599) and "server_error" or "http_error"
end
local function status_retryable(s) return s == 408 or s == 409 or s == 429 or s >= 500 end

local function is_int(v) return type(v) == "number" and v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 end

-- tostring(err) as l_error_tostring builds it, from the fields as they are.
local function expected_tostring(e)
  local code, status, msg, rid = rawget(e, "code"), rawget(e, "status"), rawget(e, "message"), rawget(e, "request_id")
  local s = "zavu: " .. (type(code) == "string" and code or "error")
  if type(status) == "number" and status >= 0 and status <= 999 and status == math.floor(status) then
    s = s .. (" (HTTP %d)"):format(math.floor(status))
  end
  if type(msg) == "string" then s = s .. ": " .. msg end
  if type(rid) == "string" then s = s .. " [request_id=" .. rid .. "]" end
  return s
end

-- Every error table the library returns: its shape, its codes, its tostring.
local function check_error(where, err, any_code)
  if not zavu.is_error(err) then fail("%s: not an error table: %s", where, show(err)) end
  if getmetatable(err) ~= zavu.error_mt then fail("%s: error without zavu.error_mt", where) end
  local code, status = err.code, err.status
  if #err.message == 0 then fail("%s: empty message (%s)", where, code) end
  if not is_int(err.attempts) or err.attempts < 0 then fail("%s: attempts %s", where, show(err.attempts)) end
  if type(err.retryable) ~= "boolean" then fail("%s: retryable %s", where, show(err.retryable)) end
  if status == nil then
    if not LOCAL_CODES[code] then fail("%s: undocumented local code %s", where, show(code)) end
  else
    if not is_int(status) or status < 100 or status > 999 then fail("%s: status %s", where, show(status)) end
    if not any_code and not (STATUS_CODES[code] or MOCK_CODES[code]) then
      fail("%s: undocumented HTTP code %s", where, show(code))
    end
  end
  if err.request_id ~= nil and (type(err.request_id) ~= "string" or #err.request_id == 0) then
    fail("%s: request_id %s", where, show(err.request_id))
  end
  if err.retry_after ~= nil and (type(err.retry_after) ~= "number" or not (err.retry_after >= 0)) then -- luacheck: ignore 581
    fail("%s: retry_after %s", where, show(err.retry_after))
  end
  if err.details ~= nil and type(err.details) ~= "table" then fail("%s: details %s", where, show(err.details)) end
  for k in pairs(err) do
    if
      not (
        k == "code"
        or k == "message"
        or k == "status"
        or k == "attempts"
        or k == "retryable"
        or k == "request_id"
        or k == "retry_after"
        or k == "details"
      )
    then
      fail("%s: unexpected field %s in the error", where, show(k))
    end
  end
  local ok, text = pcall(tostring, err)
  if not ok then fail("%s: tostring(err) raised: %s", where, show(text)) end
  if type(text) ~= "string" then fail("%s: tostring(err) gave a %s", where, type(text)) end
  if text ~= expected_tostring(err) then
    fail("%s: tostring(err) = %s, expected %s", where, show(text), show(expected_tostring(err)))
  end
  if text:find(KEY_MARK, 1, true) or err.message:find(KEY_MARK, 1, true) then
    fail("%s: the API key shows in the error: %s", where, text)
  end
  stats.codes[code] = (stats.codes[code] or 0) + 1
end

---------------------------------------------------------------------------
-- the model of clients

local MAXC = 6
local pool = {} -- slot -> rec
local saved_cos = {} -- suspended coroutines, resumed or abandoned later
local cancels = 0 -- cancel_all calls made so far
local rec_serial = 0
local nonce_n = 0
local RUN_TAG = ("%x"):format(SEED % 1048576) .. ("%x"):format(os.time() % 65536)

local function nonce()
  nonce_n = nonce_n + 1
  return RUN_TAG .. "n" .. nonce_n
end

local function pool_pick(filter)
  local cands = {}
  for i = 1, MAXC do
    local rec = pool[i]
    if rec and (not filter or filter(rec)) then cands[#cands + 1] = rec end
  end
  if #cands == 0 then return nil end
  return R.pick(cands)
end

local function open_rec(rec) return not rec.closed end
local function pick_for_call()
  if R.chance(0.9) then return pool_pick(open_rec) or pool_pick() end
  return pool_pick()
end

local function rec_name(rec) return ("c%d%s"):format(rec.serial, rec.kind == "lo" and "L" or "") end

-- close() through one of the library's doors; the model follows the busy rule.
local function model_close(rec)
  if rec.closed then return end
  if rec.busy > 0 then
    rec.pending = true
  else
    rec.closed = true
  end
end

local function do_close(rec, depth, how)
  how = how or R.pick { "method", "method", "handle", "gc_meta" }
  log(depth, "close %s via %s (busy=%d)", rec_name(rec), how, rec.busy)
  model_close(rec)
  if rec.kind == "hi" and how == "method" then
    rec.obj.close()
  elseif how == "gc_meta" then
    getmetatable(rec.handle).__gc(rec.handle) -- the finalizer run by hand: must be idempotent
  else
    rec.handle:close()
  end
end

---------------------------------------------------------------------------
-- session ids from the mock's scenarios, with what each must come to
--
-- A spec: { ok = may succeed, fails = { alternatives } }, an alternative:
-- { code, status (false: none), attempts, retryable, retry_after, details }.

local function F(code, status, attempts, retryable, extra)
  local f = { code = code, status = status, attempts = attempts, retryable = retryable }
  for k, v in pairs(extra or {}) do
    f[k] = v
  end
  return f
end
local OK = { ok = true, fails = {} }
local function FAILS(...) return { ok = false, fails = { ... } } end

local WEIRD = {
  "/",
  "?",
  "#",
  "%",
  " ",
  "\0",
  "\n",
  "\r\nX-Injected: 1",
  "..",
  "~",
  "-x",
  "+",
  "%2F",
  "\255\254",
  "é",
  '"',
  "'",
  "&",
  "=",
  ";",
  "\\",
  "%00",
  ".",
  "\t",
}

local function plain_id()
  local id = "p" .. R.int(1, 999999)
  if R.chance(0.3) then id = id .. R.pick(WEIRD) .. (R.chance(0.5) and R.pick(WEIRD) or "") end
  return id
end
-- nginx answers 400 itself to a path holding %00
local OK_OR_NGINX_400 = { ok = true, fails = { F("bad_request", 400, 1, false) } }
local function plain_spec(id) return id:find("\0", 1, true) and OK_OR_NGINX_400 or OK end

local NONRETRY_STATUS = { 200, 201, 204, 301, 302, 303, 307, 308, 400, 401, 403, 404, 405, 410, 418, 422, 451 }

local function status_spec(s, e)
  if s >= 200 and s <= 299 then return OK end
  if s == 404 and e.M then return OK end
  return FAILS(F(code_for_status(s), s, 1, status_retryable(s)))
end

local function linking(d) return type(d) == "table" and d.state == "linking" and d.retry_in == 5 end

-- e: { R = max_retries in force, T = timeout in force, M = missing_ok }
-- Flags: raw = below HTTP (plain http only), R0 = fails on and on with a
-- retryable error (only when no retry is allowed: backoffs are seconds long),
-- smallT = waits for the timeout, bigT = needs a timeout well above 50 ms.
local SCENARIOS = {
  {
    30,
    {},
    function()
      local id = plain_id()
      return id, plain_spec(id)
    end,
  },
  { -- a number id: its exact digits when whole, else refused locally
    3,
    {},
    function()
      local n = R.int(-1e6, 1e6) * R.pick { 1, 1, 0.5, 1e-3 }
      if n == math.floor(n) then return n, OK end
      return n, FAILS(F("invalid_argument", false, 0, false))
    end,
  },
  { 4, {}, function(e) return "missing-" .. nonce(), e.M and OK or FAILS(F("session_not_found", 404, 1, false)) end },
  { 2, {}, function(e) return "legacy-" .. nonce(), e.M and OK or FAILS(F("legacy_not_found", 404, 1, false)) end },
  {
    3,
    {},
    function() return "details-" .. nonce(), FAILS(F("session_busy", 422, 1, false, { details = linking })) end,
  },
  {
    4,
    {},
    function(e)
      local s = R.pick(NONRETRY_STATUS)
      return "status-" .. s, status_spec(s, e)
    end,
  },
  {
    2,
    { R0 = true },
    function()
      local s = R.pick { 409, 429, 500, 502, 503, 504 }
      return "status-" .. s, FAILS(F(code_for_status(s), s, 1, true))
    end,
  },
  { 3, { bigT = true }, function() return ("slow-%d-%s"):format(R.int(1, 40), nonce()), OK end },
  {
    4,
    {},
    function(e)
      local k, s = R.int(1, 3), R.pick { 429, 500, 502, 503, 504 }
      local id = ("flaky-%d-%d-%s"):format(k, s, nonce())
      if e.R >= k then return id, OK end
      return id, FAILS(F("try_again", s, e.R + 1, true, { retry_after = 0.001 }))
    end,
  },
  {
    2,
    {},
    function(e)
      local ms = R.int(0, 20)
      local id = ("retryafterms-%d-%s"):format(ms, nonce())
      if e.R >= 1 then return id, OK end
      return id, FAILS(F("try_again", 503, 1, true, { retry_after = ms / 1000 }))
    end,
  },
  {
    1,
    {},
    function(e)
      local id = ("retryafter-0-%s-%s"):format(R.pick { "secs", "date" }, nonce())
      if e.R >= 1 then return id, OK end
      return id, FAILS(F("try_again", 429, 1, true, { retry_after_max = 1 }))
    end,
  },
  { 2, {}, function() return "noretry-" .. nonce(), FAILS(F("try_again", 503, 1, false)) end },
  {
    2,
    {},
    function(e)
      local id = "forceretry-" .. nonce()
      if e.R >= 1 then return id, OK end
      return id, FAILS(F("try_again", 400, 1, true, { retry_after = 0.001 }))
    end,
  },
  { 1, { R0 = true }, function() return "backoff-1-" .. nonce(), FAILS(F("try_again", 503, 1, true)) end },
  { 2, {}, function() return "html-" .. nonce(), FAILS(F("server_error", 502, 1, false)) end },
  { 1, {}, function() return "badjson-" .. nonce(), FAILS(F("bad_request", 400, 1, false)) end },
  { 1, {}, function() return "notobject-" .. nonce(), FAILS(F("bad_request", 400, 1, false)) end },
  { 1, {}, function() return "wrongtypes-" .. nonce(), FAILS(F("conflict", 409, 1, false)) end },
  { 1, {}, function() return "emptystrings-" .. nonce(), FAILS(F("forbidden", 403, 1, false)) end },
  {
    1,
    {},
    function()
      if R.chance(0.5) then return ("big-%d-%s"):format(R.int(1, 40), nonce()), FAILS(F("big_body", 400, 1, false)) end
      return ("big-%d-%s"):format(R.int(70, 100), nonce()), FAILS(F("bad_request", 400, 1, false))
    end,
  },
  { 0.3, {}, function() return "huge-" .. nonce(), FAILS(F("bad_request", 400, 1, false)) end },
  { 1, {}, function() return "echo-" .. nonce(), FAILS(F("echo", 418, 1, false)) end },
  { 1, {}, function() return "redirect-" .. nonce(), FAILS(F("http_error", 302, 1, false)) end },
  { 1, { raw = true }, function() return "garbage-" .. nonce(), FAILS(F("invalid_response", false, 1, false)) end },
  { 1, { raw = true }, function() return "badstatus-" .. nonce(), FAILS(F("invalid_response", false, 1, false)) end },
  {
    0.5,
    { raw = true },
    function() return "longheader-" .. nonce(), FAILS(F("invalid_response", false, 1, false)) end,
  },
  { 0.5, { raw = true }, function() return "manyheaders-" .. nonce(), FAILS(F("server_error", 503, 1, false)) end },
  {
    1,
    { raw = true, R0 = true },
    function() return "cutbody-" .. nonce(), FAILS(F("connection_error", false, 1, true)) end,
  },
  {
    1,
    { raw = true, R0 = true },
    function() return "badchunk-" .. nonce(), FAILS(F("connection_error", false, 1, true)) end,
  },
  {
    1,
    { raw = true, R0 = true },
    -- libcurl sends a DELETE again by itself when a kept-alive connection
    -- closed without a word, once for each dead one it tried (a batch keeps
    -- several); attempts counts those re-sends too
    function() return "close-" .. nonce(), FAILS(F("connection_error", false, 1, true, { resent = 64 })) end,
  },
  {
    0.5,
    { raw = true, R0 = true, smallT = true },
    function() return "hang-" .. nonce(), FAILS(F("timeout", false, 1, true)) end,
  },
  {
    0.5,
    { raw = true, R0 = true, smallT = true },
    function() return "stallbody-" .. nonce(), FAILS(F("timeout", false, 1, true)) end,
  },
  {
    3,
    {},
    function()
      return R.pick { "", ".", "..", ("q"):rep(1025), ("/"):rep(1025) }, FAILS(F("invalid_argument", false, 0, false))
    end,
  },
  { 0.5, {}, function() return "p" .. ("9"):rep(1023), OK end }, -- 1024 bytes: the longest allowed
}

-- One id for a call on rec with the settings e; spec says what it must come to.
local function gen_id(rec, e)
  local usable = {}
  for _, s in ipairs(SCENARIOS) do
    local f = s[2]
    local fit = not (f.raw and rec.transport ~= "http")
      and not (f.R0 and e.R ~= 0)
      and not (f.smallT and e.T > 0.3)
      and not (f.bigT and e.T < 1)
    if fit then usable[#usable + 1] = { s[1], s[3] } end
  end
  local id, spec
  if e.plain then
    id, spec = e.plain, OK
  else
    id, spec = R.weighted(usable)(e)
  end
  if type(id) == "string" and (#id == 0 or #id > 1024 or id == "." or id == "..") then
    return id, spec -- refused before anything else
  end
  if type(id) == "string" and #id <= 1024 then
    -- a "." or ".." piece between "/" or "\" (escaped, a server still
    -- resolves it once it decodes %2F): refused locally, nothing sent
    for piece in (id .. "/"):gmatch("([^/\\]*)[/\\]") do
      if piece == "." or piece == ".." then return id, FAILS(F("invalid_argument", false, 0, false)) end
    end
  end
  if type(id) == "number" and id ~= math.floor(id) then
    return id, spec -- a fractional number id, likewise
  end
  if rec.code then return id, FAILS(F(rec.code, false, 0, false)) end
  if rec.transport == "tls" then return id, FAILS(F("tls_error", false, 1, false)) end
  if rec.transport == "refused" then return id, FAILS(F("connection_error", false, 1, true)) end
  if rec.transport == "unauth" then
    if type(id) == "string" and id:find("\0", 1, true) then -- nginx's own 400 comes first
      return id, FAILS(F("unauthorized", 401, 1, false), F("bad_request", 400, 1, false))
    end
    return id, FAILS(F("unauthorized", 401, 1, false))
  end
  return id, spec
end

-- Does (ok, err) fit spec? Returns nil or why not. ctx: cancelled (a
-- cancel_all ran during the call), timeouts (the timeout in force is short).
local function outcome_mismatch(spec, ok, err, ctx)
  if ok == true then
    if spec.ok then return nil end
    return "succeeded, expected " .. show(spec.fails[1] and spec.fails[1].code)
  end
  if ok ~= nil then return "returned " .. show(ok) end
  if ctx.cancelled and err.code == "cancelled" then
    if err.status ~= nil or err.retryable ~= false then return "a cancelled error with status/retryable" end
    return nil
  end
  if ctx.timeouts and err.code == "timeout" then return nil end
  for _, f in ipairs(spec.fails) do
    if f.code == err.code then
      if f.status == false and err.status ~= nil then return "status " .. show(err.status) .. " for " .. f.code end
      if f.status and err.status ~= f.status then
        return ("status %s, expected %s"):format(show(err.status), f.status)
      end
      local most = f.attempts and f.attempts + (f.resent or 0)
      if f.attempts and not (err.attempts >= f.attempts and err.attempts <= most) then
        return ("attempts %s, expected %s (%s)"):format(show(err.attempts), f.attempts, f.code)
      end
      if f.retryable ~= nil and err.retryable ~= f.retryable then
        return ("retryable %s, expected %s (%s)"):format(show(err.retryable), tostring(f.retryable), f.code)
      end
      if f.retry_after and (type(err.retry_after) ~= "number" or math.abs(err.retry_after - f.retry_after) > 1e-9) then
        return ("retry_after %s, expected %s"):format(show(err.retry_after), f.retry_after)
      end
      if f.retry_after_max and not (type(err.retry_after) == "number" and err.retry_after <= f.retry_after_max) then
        return "retry_after " .. show(err.retry_after)
      end
      if f.details and not f.details(err.details) then return "details " .. show(err.details) end
      return nil
    end
  end
  if spec.ok then return "failed with " .. err.code .. ", expected success" end
  return ("code %s, expected %s"):format(show(err.code), show(spec.fails[1] and spec.fails[1].code))
end

---------------------------------------------------------------------------
-- hostile user code

local run_hostile -- (ctx, depth): one or a few of the actions below
-- luacheck: ignore make_call
local make_call -- (rec, depth, kind): one checked call

local function marker()
  stats.raises = stats.raises + 1
  local kind = R.int(1, 5)
  if kind == 1 then return "FUZZ-RAISE-" .. stats.raises end
  if kind == 2 then return 424242 + stats.raises end
  if kind == 3 then return zavu.error_from_response(500, "{}") end -- a zavu error raised as is
  return { fuzz_raise = stats.raises }
end

-- Raise v (a fresh marker) as the error of the call ctx belongs to.
local function hostile_raise(ctx, depth)
  local v = marker()
  ctx.allowed[v] = true
  log(depth, "raise %s", show(v))
  error(v, 0)
end

local function hostile_yield(ctx, depth)
  ctx.yield_ok = true
  log(depth, "yield (across the C call: must raise)")
  coroutine.yield("fuzz-yield")
  fail("coroutine.yield returned inside a call into the library")
end

-- Collector pressure: for a while, a collection cycle at every allocation
-- and finalizers waiting in every cycle, so they run inside the library.
local pressure_until = 0
local function set_pressure(on)
  if on then
    if IS54 then
      collectgarbage("incremental", 1, 1000)
    else
      collectgarbage("setpause", 1)
      collectgarbage("setstepmul", 1000)
    end
  else
    if IS54 then
      collectgarbage("incremental", 200, 100)
    else
      collectgarbage("setpause", 200)
      collectgarbage("setstepmul", 200)
    end
  end
end

local function gc_now(depth)
  local what = R.pick { "collect", "step", "step", "count" }
  log(depth, "collectgarbage(%s)", what)
  if what == "step" then
    collectgarbage("step", R.int(0, 200))
  else
    collectgarbage(what)
  end
end

-- A finalizer: runs whenever the collector gets to it, maybe inside a call.
local function finalizer_action()
  stats.finalizers = stats.finalizers + 1
  if FAILED then return end
  local ok, e = pcall(function()
    -- most interesting: a client a call is running on, from inside that call
    local rec = R.chance(0.6) and pool_pick(function(r) return r.busy > 0 end) or pool_pick()
    local what = R.pick { "delete", "delete", "close", "cancel", "efr", "raise" }
    log(9, "finalizer: %s %s", what, rec and rec_name(rec) or "-")
    if what == "delete" and rec then
      local maybe_busy, maybe_closed = rec.busy > 0, rec.closed or rec.pending
      local id = "p" .. R.int(1, 99999)
      local pok, a, b
      if rec.kind == "hi" then
        pok, a, b = pcall(rec.obj.sessions.delete, id)
      else
        pok, a, b = pcall(rec.handle.delete_session, rec.handle, id)
      end
      if not pok then
        if not (maybe_closed or rec.closed) or not tostring(a):find("client is closed", 1, true) then
          fail("finalizer delete on %s raised: %s", rec_name(rec), show(a))
        end
      elseif a ~= true then
        check_error("finalizer delete", b)
        if b.code == "client_busy" and not maybe_busy then
          fail("finalizer: client_busy from idle %s", rec_name(rec))
        end
      end
    elseif what == "close" and rec then
      -- Busy (in the model) may mean "about to enter the library": then the
      -- close is immediate and the call raises "client is closed".
      if rec.busy > 0 then rec.fin_closes = rec.fin_closes + 1 end
      do_close(rec, 9, "method")
    elseif what == "cancel" then
      cancels = cancels + 1
      zavu.cancel_all()
    elseif what == "efr" then
      local err = zavu.error_from_response(R.int(100, 999), R.pick { "", "{}", '{"code":"x","message":"y"}' })
      check_error("finalizer error_from_response", err, true)
    elseif what == "raise" and IS54 then
      error("FUZZ finalizer error (5.4 turns it into a warning)")
    end
  end)
  if not ok and e == FAIL_MARK then return end
end

local function make_garbage(n)
  for _ = 1, n do
    if rawget(_G, "newproxy") then
      local p = newproxy(true)
      getmetatable(p).__gc = finalizer_action
    else
      setmetatable({}, { __gc = finalizer_action })
    end
  end
end

-- Option values: valid ones, and poison that new() or a call must refuse.
local function bad_seconds(zero_ok)
  local t = { 0 / 0, 1 / 0, -1 / 0, -1, -0.001, -1e300, "5", true, {}, function() end }
  if not zero_ok then
    t[#t + 1] = 0
    t[#t + 1] = -0.0
  end
  return R.pick(t)
end
local function bad_count(lo, hi)
  return R.pick { 0 / 0, 1 / 0, -1 / 0, lo - 1, hi + 1, 1.5, lo + 0.25, 2 ^ 53, -2 ^ 63, 1e300, "2", false, {} }
end
local function bad_flag() return R.pick { 1, 0, "true", {}, 0 / 0 } end
local function bad_string()
  return R.pick { 1, 2.5, true, {}, function() end, "a\0b" }
end

-- An options table. vals: the valid values (key -> value); read: the keys
-- the library reads, in no particular order; poison_keys: how likely each
-- read key is to carry poison. Fills ctx.bad_keys / ctx.allowed / ctx.yield_ok
-- for poison, and returns the table and whether a raise is certain.
local function build_options(vals, read, ctx, depth, validators)
  local t, plans, must_raise = {}, {}, false
  local hostile = R.chance(0.45)
  local function deliver(k, v)
    if hostile and R.chance(0.6) then
      plans[k] = { value = v }
    else
      rawset(t, k, v)
    end
  end
  for k, v in pairs(vals) do
    deliver(k, v)
  end
  -- a key the library does not know: refused when the table holds it (its
  -- keys are enumerated raw); one only __index gives is never asked for
  if R.chance(0.2) then
    local junk = {}
    for _, k in ipairs { "foo", "concurrency", "on_progress", "api_key", "1", "missing_ok" } do
      local read_it = false
      for _, r in ipairs(read) do
        if r == k then read_it = true end
      end
      if not read_it then junk[#junk + 1] = k end
    end
    local k, v = R.pick(junk), bad_count(1, 2)
    if hostile and R.chance(0.6) then
      plans[k] = { value = v }
    else
      rawset(t, k, v)
      ctx.unknown_keys[k], must_raise = true, true
    end
  end
  if R.chance(0.18) then
    local k = R.pick(read)
    local how = R.int(1, 6)
    if how <= 3 or not hostile then
      local v = validators[k].bad()
      if hostile and R.chance(0.5) then
        plans[k] = { value = v }
        rawset(t, k, nil)
      else
        rawset(t, k, v)
        plans[k] = nil
      end
      ctx.bad_keys[k] = true
    elseif how == 4 or how == 5 then
      rawset(t, k, nil)
      plans[k] = { raise = true }
    else
      rawset(t, k, nil)
      plans[k] = { yield = true }
    end
    must_raise = true
  end
  if hostile then
    local function index(_, k)
      propagate_failure()
      local p = plans[k]
      if not p then
        if R.chance(0.1) then run_hostile(ctx, depth + 1, true) end
        return nil
      end
      log(depth + 1, "__index %s", tostring(k))
      if p.raise then hostile_raise(ctx, depth + 1) end
      if p.yield then hostile_yield(ctx, depth + 1) end
      if R.chance(0.5) then run_hostile(ctx, depth + 1, true) end
      local v = p.value
      if type(v) == "string" and R.chance(0.5) then
        collectgarbage() -- the fresh copy below is the only reference to it
        v = v:sub(1, 1) .. v:sub(2)
      end
      return v
    end
    local mt
    if R.chance(0.2) then
      mt = { __index = setmetatable({}, { __index = index }) } -- a chain of __index
    else
      mt = { __index = index }
    end
    if R.chance(0.2) then mt.__newindex = function() fail("the library wrote into an options table") end end
    setmetatable(t, mt)
  end
  return t, must_raise
end

---------------------------------------------------------------------------
-- calls

local CALL_READ = { "timeout", "max_retries", "missing_ok" }
local MANY_READ = { "timeout", "max_retries", "missing_ok", "concurrency", "on_progress" }
local CALL_VALIDATORS = {
  timeout = { bad = function() return bad_seconds(false) end },
  max_retries = { bad = function() return bad_count(0, 100) end },
  missing_ok = { bad = bad_flag },
  concurrency = { bad = function() return bad_count(1, 64) end },
  on_progress = {
    bad = function()
      return R.pick { 1, "f", {}, setmetatable({}, { __call = function() end }), true }
    end,
  },
}

-- on_progress(done, total): checks its arguments, then misbehaves.
local function make_progress(ctx, depth)
  return function(done, total)
    propagate_failure()
    stats.progress = stats.progress + 1
    ctx.pcalls = ctx.pcalls + 1
    if done ~= ctx.pcalls or total ~= ctx.n then
      fail("on_progress(%s, %s): expected (%d, %d)", show(done), show(total), ctx.pcalls, ctx.n)
    end
    if R.chance(0.5) then run_hostile(ctx, depth + 1, false) end
  end
end

-- The call's own settings: e = { R, T, M } as they will be in force.
local function call_settings(rec, many, ctx, depth)
  local vals = {}
  local r
  if rec.force_R0 then
    r = R.pick { false, 0, 0.0 }
  else
    r = R.pick { false, false, 0, 1, 2, 2.0, 3, 100 }
  end
  if r then vals.max_retries = r end
  local eR = r or rec.R
  local t = R.pick { false, false, false, 5, 10, 2.5, 1e9, 0.2, 0.05, 1e-7 }
  if t and t < 1 and eR > 0 then t = 5 end
  if not t and rec.T < 1 and eR > 0 then t = 5 end
  if t then vals.timeout = t end
  local eT = math.max(t or rec.T, 0.001)
  local m = R.pick { "nil", "nil", true, false }
  if m ~= "nil" then vals.missing_ok = m end
  if many then
    local c = R.pick { false, 1, 2, 3, 4, 8, 16, 64, 4.0 }
    if c then vals.concurrency = c end
    if R.chance(0.75) then vals.on_progress = make_progress(ctx, depth) end
  end
  return vals, { R = eR, T = eT, M = m == true }
end

local function new_ctx(rec)
  return {
    rec = rec,
    allowed = {},
    bad_keys = {},
    unknown_keys = {},
    yield_ok = false,
    pcalls = 0,
    n = 0,
    c0 = cancels,
    closed = false,
    busy_expected = false,
    misuse = false,
    cancelled = false,
    timeouts = false,
    no_yield = false,
    progress_given = false,
  }
end

-- Was an error raised by the call one the model allows?
local function raise_allowed(ctx, e)
  if e == nil then return false end
  if ctx.allowed[e] then return true end
  if type(e) ~= "string" then return false end
  if ctx.yield_ok and e:find("yield", 1, true) then return true end
  if ctx.misuse and (e:find("bad argument", 1, true) or e:find("expected", 1, true)) then return true end
  if ctx.closed and e:find("client is closed", 1, true) then return true end
  for k in pairs(ctx.bad_keys) do
    if e:find("bad option '" .. k .. "'", 1, true) then return true end
  end
  for k in pairs(ctx.unknown_keys) do
    if e:find("unknown option '" .. k .. "'", 1, true) then return true end
  end
  return false
end

-- Run fn(...) as a call on rec, under the model's busy rule. Returns pcall's results.
local function guarded_call(rec, ctx, fn, a1, a2)
  -- finalizers due now run inside the call (a collection at every allocation)
  if pressure_until > STEP and R.chance(0.7) then make_garbage(R.int(1, 4)) end
  -- Nothing allocates between reading the model and entering the library:
  -- a finalizer run there would find the model out of step.
  local closed, busy, fc = rec.closed, rec.busy > 0, rec.fin_closes
  ctx.closed, ctx.busy_expected = closed, busy and not closed
  if not closed and not busy then rec.busy = 1 end
  local ok, a, b = pcall(fn, a1, a2)
  if not closed and not busy then
    rec.busy = 0
    if rec.pending then
      rec.pending = false
      rec.closed = true
    end
    if rec.fin_closes ~= fc and not ok and tostring(a):find("client is closed", 1, true) then
      ctx.closed = true -- a finalizer closed it just before the call began
    end
  end
  return ok, a, b
end

local function check_raise(what, ctx, ok, e, must_raise)
  if ok then
    if must_raise then fail("%s: returned although it had to raise (bad option or misuse)", what) end
    return false
  end
  if e == FAIL_MARK then error(FAIL_MARK, 0) end
  propagate_failure()
  if not raise_allowed(ctx, e) then fail("%s: unexpected raise: %s", what, show(e)) end
  return true
end

local function pick_fn(rec, many)
  if rec.kind == "hi" and R.chance(0.85) then
    return many and rec.obj.sessions.delete_many or rec.obj.sessions.delete,
      "sessions." .. (many and "delete_many" or "delete")
  end
  local h = rec.handle
  local m = many and h.delete_many or h.delete_session
  return function(a, b) return m(h, a, b) end, many and ":delete_many" or ":delete_session"
end

local function client_settings(rec) return { R = rec.R, T = rec.T, M = false } end

local function delete_call(rec, depth)
  local ctx = new_ctx(rec)
  local mode = R.int(1, 10)
  local vals, e = call_settings(rec, false, ctx, depth)
  if mode <= 4 then e = client_settings(rec) end -- no options reach the library
  local id, spec = gen_id(rec, e)
  local opts, must_raise
  if mode <= 3 then
    opts = nil -- the hot path
  elseif mode == 4 then
    opts = R.pick { "opts", 5, true, function() end, rec.handle }
    ctx.misuse = true
    must_raise = true
  else
    opts, must_raise = build_options(vals, CALL_READ, ctx, depth, CALL_VALIDATORS)
  end
  if R.chance(0.04) then
    id = R.pick { {}, true, false, function() end }
    ctx.misuse, must_raise = true, true
  end
  local fn, fname = pick_fn(rec, false)
  log(depth, "%s %s(%s, %s) R=%s T=%s M=%s", rec_name(rec), fname, show(id), show(opts), e.R, e.T, tostring(e.M))
  stats.calls = stats.calls + 1
  stats.ids = stats.ids + 1
  local ok, a, b = guarded_call(rec, ctx, fn, id, opts)
  ctx.cancelled = cancels ~= ctx.c0
  ctx.timeouts = e.T < 1 or rec.lenient_timeout
  local what = ("%s %s(%s)"):format(rec_name(rec), fname, show(id))
  if ctx.closed then
    if ok or not tostring(a):find("client is closed", 1, true) then
      fail("%s on a closed client: %s", what, show(ok and "returned" or a))
    end
    log(depth, "-> raised (closed)")
    return
  end
  if ctx.busy_expected then
    if not ok then fail("%s on a busy client raised: %s", what, show(a)) end
    if a ~= nil or not zavu.is_error(b) or b.code ~= "client_busy" then
      fail("%s on a busy client: %s, %s (expected nil, client_busy)", what, show(a), show(b))
    end
    check_error(what, b)
    if b.attempts ~= 0 then fail("%s: client_busy with attempts %s", what, show(b.attempts)) end
    stats.busy = stats.busy + 1
    log(depth, "-> client_busy")
    return
  end
  if check_raise(what, ctx, ok, a, must_raise) then
    log(depth, "-> raised %s", show(a))
    return
  end
  if a ~= true then check_error(what, b) end
  local why = outcome_mismatch(spec, a, b, ctx)
  if why then fail("%s: %s (got %s %s)", what, why, show(a), b and tostring(b) or "") end
  log(depth, "-> %s", a == true and "true" or tostring(b))
end

local function many_call(rec, depth)
  local ctx = new_ctx(rec)
  local mode = R.int(1, 20)
  local vals, e = call_settings(rec, true, ctx, depth)
  if mode <= 3 then e = client_settings(rec) end -- no options reach the library
  local n = R.weighted { { 2, 0 }, { 10, R.int(1, 4) }, { 6, R.int(5, 12) }, { 1, R.int(13, 40) } }
  local ids, specs, seen = {}, {}, {}
  for i = 1, n do
    if R.chance(0.06) then
      ids[i] = R.pick { true, false, {}, function() end, coroutine.create(function() end) }
      specs[i] = FAILS(F("invalid_argument", false, 0, false))
    else
      local id, spec = gen_id(rec, e)
      if seen[id] then -- one id twice would make the summary ambiguous
        id = "p" .. nonce()
        spec = select(2, gen_id(rec, { R = 0, T = 60, M = false, plain = id }))
      end
      seen[id] = true
      ids[i], specs[i] = id, spec
    end
  end
  local copy = { unpack(ids, 1, n) }
  ctx.n = n
  ctx.ids = ids
  local opts, must_raise
  if mode <= 2 then
    opts = nil
  elseif mode == 3 then
    opts = R.pick { "opts", 5, true }
    ctx.misuse, must_raise = true, true
  else
    opts, must_raise = build_options(vals, MANY_READ, ctx, depth, CALL_VALIDATORS)
    ctx.progress_given = vals.on_progress ~= nil
  end
  local arg = ids
  if R.chance(0.03) then
    arg = R.pick { "ids", 5, true }
    ctx.misuse, must_raise = true, true
  end
  local fn, fname = pick_fn(rec, true)
  log(depth, "%s %s(%d ids, %s) R=%s T=%s M=%s", rec_name(rec), fname, n, show(opts), e.R, e.T, tostring(e.M))
  for i = 1, n do
    log(depth + 1, "id %d: %s", i, show(ids[i]))
  end
  stats.calls = stats.calls + 1
  stats.ids = stats.ids + n
  local ok, a, b = guarded_call(rec, ctx, fn, arg, opts)
  ctx.cancelled = cancels ~= ctx.c0
  ctx.timeouts = e.T < 1 or rec.lenient_timeout
  local what = ("%s %s(%d ids)"):format(rec_name(rec), fname, n)
  if ctx.closed then
    if ok or not tostring(a):find("client is closed", 1, true) then
      fail("%s on a closed client: %s", what, show(ok and "returned" or a))
    end
    log(depth, "-> raised (closed)")
    return
  end
  if ctx.busy_expected then
    if not ok then fail("%s on a busy client raised: %s", what, show(a)) end
    if a ~= nil or not zavu.is_error(b) or b.code ~= "client_busy" then
      fail("%s on a busy client: %s, %s (expected nil, client_busy)", what, show(a), show(b))
    end
    check_error(what, b)
    stats.busy = stats.busy + 1
    log(depth, "-> client_busy")
    return
  end
  if check_raise(what, ctx, ok, a, must_raise) then
    log(depth, "-> raised %s after %d progress calls", show(a), ctx.pcalls)
    return
  end
  -- the summary
  local s = a
  if type(s) ~= "table" then fail("%s: returned %s, %s instead of a summary", what, show(a), show(b)) end
  if s.total ~= n then fail("%s: total %s, expected %d", what, show(s.total), n) end
  if type(s.deleted) ~= "table" or type(s.failed) ~= "table" then fail("%s: summary %s", what, show(s)) end
  if #s.deleted + #s.failed ~= n then fail("%s: %d deleted + %d failed ~= %d", what, #s.deleted, #s.failed, n) end
  if s.ok ~= (#s.failed == 0) then fail("%s: ok = %s with %d failed", what, tostring(s.ok), #s.failed) end
  if ctx.progress_given and ctx.pcalls ~= n then
    fail("%s: on_progress called %d times for %d ids", what, ctx.pcalls, n)
  end
  local di, fi = 1, 1
  for i = 1, n do
    local id = copy[i]
    local got_ok, err
    if di <= #s.deleted and s.deleted[di] == id then
      got_ok = true
      di = di + 1
    elseif fi <= #s.failed and s.failed[fi].id == id then
      err = s.failed[fi].error
      fi = fi + 1
      check_error(what .. " id " .. i, err)
    else
      fail("%s: id %d (%s) is neither next in deleted nor in failed (order kept?)", what, i, show(id))
    end
    local why = outcome_mismatch(specs[i], got_ok, err, ctx)
    if why then fail("%s: id %d %s: %s (%s)", what, i, show(id), why, err and tostring(err) or "true") end
  end
  stats.batches = stats.batches + 1
  log(depth, "-> %d deleted, %d failed, %d progress calls", #s.deleted, #s.failed, ctx.pcalls)
end

---------------------------------------------------------------------------
-- clients

local BAD_URLS = {
  "",
  "not a url",
  "ftp://127.0.0.1:" .. HTTP_PORT,
  "127.0.0.1:" .. HTTP_PORT,
  HTTP_URL .. "/?x=1",
  HTTP_URL .. "?",
  HTTP_URL .. "#",
  HTTP_URL .. "/#f",
  "http://user:pw@127.0.0.1:" .. HTTP_PORT,
  "http://",
  "https://",
  "http://127.0.0.1:99999",
}
-- Refused as plain http to a non-loopback host; were one ever used, Linux
-- would send it to the loopback interface all the same.
local INSECURE_URLS = { "http://0.0.0.0:" .. HTTP_PORT, "http://[::]:" .. HTTP_PORT }
local GOOD_URLS = { HTTP_URL, HTTP_URL .. "/", HTTP_URL .. "//", HTTP_URL .. "/prefix", HTTP_URL .. "/prefix/" }

local CONFIG_READ = {
  "api_key",
  "base_url",
  "ca_file",
  "ca_path",
  "user_agent",
  "lua_version",
  "timeout",
  "connect_timeout",
  "max_retries",
  "max_retry_wait",
  "allow_insecure_http",
  "debug",
}
local CONFIG_VALIDATORS = {
  api_key = { bad = bad_string },
  base_url = { bad = bad_string },
  ca_file = { bad = bad_string },
  ca_path = { bad = bad_string },
  lua_version = { bad = bad_string },
  user_agent = {
    bad = function() return R.chance(0.5) and bad_string() or R.pick { "a\nb", "x\rX-Evil: 1", "\127", "\1" } end,
  },
  timeout = { bad = function() return bad_seconds(false) end },
  connect_timeout = { bad = function() return bad_seconds(false) end },
  max_retries = { bad = function() return bad_count(0, 100) end },
  max_retry_wait = { bad = function() return bad_seconds(true) end },
  allow_insecure_http = { bad = bad_flag },
  debug = { bad = bad_flag },
}

-- A configuration and what the model expects of it.
local function gen_config(kind)
  local cfg = { api_key = KEY, base_url = R.pick(GOOD_URLS) }
  local m = { transport = "http", code = nil }
  local p = R.float()
  if p < 0.58 then -- luacheck: ignore 542
    -- a good one over plain http
  elseif p < 0.68 then
    cfg.base_url = HTTPS_URL .. R.pick { "", "/" }
    if R.chance(0.7) then
      cfg.ca_file = CA_FILE
    else
      cfg.ca_path = CA_PATH
    end
    m.transport = "https"
  elseif p < 0.71 then
    local w = R.int(1, 3)
    if w == 1 then
      cfg.base_url = HTTPS_URL
      cfg.ca_file = "/nonexistent/ca.pem"
    elseif w == 2 then
      cfg.base_url = "https://127.0.0.1:" .. EXPIRED_PORT
      cfg.ca_file = CA_FILE
    else
      cfg.base_url = "https://127.0.0.1:" .. WRONGHOST_PORT
      cfg.ca_file = CA_FILE
    end
    m.transport = "tls"
  elseif p < 0.74 then
    cfg.base_url = "http://127.0.0.1:1"
    m.transport, m.force_R0 = "refused", true
  elseif p < 0.78 then
    cfg.api_key = R.pick { "zv_live_revoked", "sk_live_nope", "zv_livex", "Zv_live_" .. SEED }
    m.transport = "unauth"
  elseif p < 0.81 then
    cfg.api_key = "" -- (a NUL inside a string option is misuse: it raises, see BAD_OPTIONS)
    if kind == "lo" and R.chance(0.5) then cfg.api_key = nil end
    m.code = "missing_api_key"
  elseif p < 0.84 then
    cfg.api_key = "zv_test_" .. SEED
    m.code = "test_mode_key"
  elseif p < 0.86 then
    cfg.api_key = R.pick { "zv_live_a\r\nX-Evil: 1", "zv_live_\1", "zv_live_\127x" }
    m.code = "invalid_argument"
  elseif p < 0.90 then
    cfg.base_url = R.pick(BAD_URLS)
    m.code = "invalid_argument"
  elseif p < 0.93 then
    cfg.base_url = R.pick(INSECURE_URLS)
    m.code = "insecure_transport"
  elseif p < 0.95 and kind == "lo" then
    cfg.lua_version = R.pick { "Lua\n5.4", "\1", "x\127" }
    m.code = "invalid_argument"
  end
  local t = R.pick { false, 5, 10, 2.0, 30, 1e12 }
  if m.force_R0 or R.chance(0.04) then
    cfg.max_retries = 0
    if not m.force_R0 then
      t = R.pick { 0.05, 0.1, 0.3 }
      if R.chance(0.3) then cfg.connect_timeout = R.pick { 1e-9, 0.001 } end
      m.lenient_timeout, m.force_R0 = true, true
    end
  else
    local r = R.pick { false, 0, 1, 2, 1.0 }
    if r then cfg.max_retries = r end
  end
  if t then cfg.timeout = t end
  if not cfg.connect_timeout and R.chance(0.3) then cfg.connect_timeout = R.pick { 2, 5, 1e12 } end
  if R.chance(0.3) then cfg.max_retry_wait = R.pick { 0, 0.01, 1, 60, 1e12 } end
  if R.chance(0.3) then cfg.user_agent = R.pick { "fuzz-agent/1", ("u"):rep(3000), "ünï/2", "a b", "" } end
  if R.chance(0.2) then cfg.allow_insecure_http = R.pick { true, false } end
  if m.code == "insecure_transport" then cfg.allow_insecure_http = R.chance(0.5) and false or nil end
  if R.chance(0.003) then cfg.debug = true end
  if kind == "lo" and not cfg.lua_version and R.chance(0.2) then cfg.lua_version = "Fuzz 1.0" end
  m.R = cfg.max_retries or 2
  m.T = math.max(cfg.timeout or 60, 0.001)
  return cfg, m
end

-- Never a client that could reach beyond 127.0.0.1 (a key it would send, a
-- URL not the mock's): a fuzzer bug, not a finding.
local function assert_safe(cfg)
  local u = cfg.base_url
  local ok = type(u) == "string"
    and (
      u:find("^https?://127%.0%.0%.1:%d+")
      or u == "http://0.0.0.0:" .. HTTP_PORT
      or u == "http://[::]:" .. HTTP_PORT
    )
  if not ok then
    for _, b in ipairs(BAD_URLS) do
      if u == b then ok = true end
    end
  end
  if not ok then error("fuzz_api: refusing to create a client for " .. show(u)) end
  if (u == "http://0.0.0.0:" .. HTTP_PORT or u == "http://[::]:" .. HTTP_PORT) and cfg.allow_insecure_http then
    error("fuzz_api: insecure URL with allow_insecure_http")
  end
end

local function new_client(depth)
  local kind = R.chance(0.65) and "hi" or "lo"
  local cfg, m = gen_config(kind)
  assert_safe(cfg)
  local ctx = new_ctx(nil)
  local opts, must_raise
  if kind == "lo" then
    opts, must_raise = build_options(cfg, CONFIG_READ, ctx, depth, CONFIG_VALIDATORS)
    -- poison in base_url never leaves the default URL in place: build_options
    -- turns a poisoned key into a raise, never into nil.
  else
    opts = {}
    for k, v in pairs(cfg) do
      opts[k] = v
    end
    if R.chance(0.08) then
      local k = R.pick(CONFIG_READ)
      if k ~= "lua_version" then -- zavu.new sets its own
        opts[k] = CONFIG_VALIDATORS[k].bad()
        ctx.bad_keys[k] = true
        must_raise = true
      end
    end
    if R.chance(0.03) then
      opts = R.pick { "opts", 5, true }
      ctx.misuse, must_raise = true, true
    end
    -- every option given by __index alone: zavu.new reads each known name
    -- (never pairs), and hostile code may run at each read
    if type(opts) == "table" and R.chance(0.15) then
      local inner = opts
      ctx.no_yield = true
      opts = setmetatable({}, {
        __index = function(_, k)
          propagate_failure()
          if R.chance(0.15) then run_hostile(ctx, depth + 1, true) end
          return inner[k]
        end,
        __pairs = function() fail("zavu.new called pairs on its options") end,
      })
    end
  end
  log(
    depth,
    "new %s %s -> expect %s/%s",
    kind,
    show(type(opts) == "table" and cfg or opts),
    m.transport,
    tostring(m.code)
  )
  local ok, obj
  if kind == "hi" then
    ok, obj = pcall(zavu.new, opts)
  else
    ok, obj = pcall(core.new, opts)
  end
  if check_raise("new " .. kind, ctx, ok, obj, must_raise) then
    log(depth, "-> raised %s", show(obj))
    return nil
  end
  rec_serial = rec_serial + 1
  stats.clients = stats.clients + 1
  local rec = {
    serial = rec_serial,
    kind = kind,
    obj = obj,
    handle = kind == "hi" and obj.handle or obj,
    busy = 0,
    closed = false,
    pending = false,
    fin_closes = 0,
    code = m.code,
    transport = m.transport,
    R = m.R,
    T = m.T,
    force_R0 = m.force_R0,
    lenient_timeout = m.lenient_timeout,
  }
  if kind == "hi" and (type(obj) ~= "table" or type(obj.sessions) ~= "table" or type(obj.close) ~= "function") then
    fail("zavu.new returned %s", show(obj))
  end
  if type(rec.handle) ~= "userdata" then fail("no client userdata: %s", show(rec.handle)) end
  local slot = R.int(1, MAXC)
  log(depth, "-> %s in slot %d%s", rec_name(rec), slot, pool[slot] and (" replacing " .. rec_name(pool[slot])) or "")
  pool[slot] = rec
  return rec
end

---------------------------------------------------------------------------
-- error_from_response and tostring against their own oracle

local function rand_string(maxlen)
  local n = R.int(0, maxlen)
  local b = {}
  for i = 1, n do
    local r = R.float()
    if r < 0.7 then
      b[i] = string.char(R.int(97, 122))
    elseif r < 0.85 then
      b[i] = string.char(R.int(0, 31))
    else
      b[i] = string.char(R.int(128, 255))
    end
  end
  return table.concat(b)
end

local function json_string()
  local s = R.weighted { { 5, "" }, { 20, "x" }, { 3, "\\u0000" }, { 2, "\\ud800" }, { 2, "\\u00e9\\n" }, { 2, '\\"' } }
  if s == "x" then s = rand_string(12):gsub('[%z\1-\31"\\\128-\255]', "y") end
  if R.chance(0.05) then s = ("z"):rep(R.int(100, 20000)) end
  return '"' .. s .. '"'
end

local function json_value(depth)
  local r = R.int(1, depth > 3 and 6 or 9)
  if r == 1 then return json_string() end
  if r == 2 then
    return R.pick {
      "0",
      "-0",
      "1e308",
      "1e999",
      "-1e999",
      "404",
      "3.5",
      "NaN",
      "Infinity",
      "0x10",
      "12345678901234567890",
    }
  end
  if r == 3 then return R.pick { "true", "false", "null" } end
  if r == 4 or r == 5 then return json_string() end
  if r == 6 then return "[]" end
  if r <= 8 then
    local parts = {}
    for _ = 1, R.int(0, 4) do
      local key =
        R.weighted { { 4, '"code"' }, { 4, '"message"' }, { 3, '"details"' }, { 3, '"error"' }, { 2, json_string() } }
      parts[#parts + 1] = key .. ":" .. json_value(depth + 1)
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  local parts = {}
  for _ = 1, R.int(0, 3) do
    parts[#parts + 1] = json_value(depth + 1)
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

local function gen_body()
  local r = R.int(1, 12)
  if r == 1 then return nil end
  if r == 2 then return "" end
  if r == 3 then return rand_string(40) end
  if r == 4 then return R.int(-100, 100) end
  if r == 5 then return ("["):rep(R.int(900, 1100)) .. ("]"):rep(R.int(0, 1100)) end
  local code = R.chance(0.8) and json_string() or json_value(2)
  local msg = R.chance(0.8) and json_string() or json_value(2)
  local inner = ('{"code":%s,"message":%s,"details":%s}'):format(code, msg, json_value(2))
  local body = r <= 8 and inner or ('{"error":%s}'):format(R.chance(0.8) and inner or json_value(1))
  if R.chance(0.15) then body = json_value(0) end
  if R.chance(0.1) then -- cut or spliced
    local at = R.int(0, #body)
    body = body:sub(1, at) .. (R.chance(0.5) and rand_string(5) or "")
  end
  return body
end

local function deep_equal(a, b, seen) -- luacheck: ignore 212
  if a == b then return true end
  if type(a) == "number" and type(b) == "number" then return a ~= a and b ~= b end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not deep_equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local function efr_action(depth)
  stats.efr = stats.efr + 1
  local status = R.weighted {
    { 10, R.int(100, 999) },
    { 6, R.pick { 400, 401, 404, 409, 422, 429, 500, 503 } },
    { 1, R.pick { 99, 1000, 404.5, 0 / 0, 1 / 0, -404, 1e300, 0 } },
    { 1, R.pick { "404", " 503 ", "0x1f4", "abc", "", true } },
    { 0.3, R.pick { {}, false } },
  }
  local body = gen_body()
  if R.chance(0.03) then body = R.pick { true, {} } end
  local rid = R.weighted {
    { 5, false },
    { 3, "req_" .. R.int(1, 1e6) },
    { 1, rand_string(200) },
    { 1, R.int(1, 99) },
    { 0.2, {} },
    { 0.5, "" },
    { 0.5, "a\0b" },
  }
  if rid == false then rid = nil end
  log(depth, "error_from_response(%s, %s, %s)", show(status), show(body), show(rid))
  -- the oracle
  local st = type(status) == "number" and status or (type(status) == "string" and tonumber(status)) or nil
  local must_raise = not st
    or not (st >= 100 and st <= 999)
    or st ~= math.floor(st)
    or not (body == nil or type(body) == "string" or type(body) == "number")
    or not (rid == nil or type(rid) == "string" or type(rid) == "number")
  local ok, err = pcall(zavu.error_from_response, status, body, rid)
  if not ok then
    if not must_raise then
      fail("error_from_response(%s, %s, %s) raised: %s", show(status), show(body), show(rid), show(err))
    end
    if type(err) ~= "string" or not err:find("bad argument", 1, true) then
      fail("error_from_response raised %s", show(err))
    end
    return
  end
  if must_raise then fail("error_from_response(%s, %s, %s) accepted", show(status), show(body), show(rid)) end
  local b = body == nil and "" or tostring(body)
  local exp = { status = math.floor(st), retryable = status_retryable(math.floor(st)), attempts = 0 }
  if #b > 0 then
    local d = json_decode(b)
    if type(d) == "table" then
      local t = type(d.error) == "table" and d.error or d
      if type(t.code) == "string" and #t.code > 0 then exp.code = t.code end
      if type(t.message) == "string" and #t.message > 0 then exp.message = t.message end
      if type(t.details) == "table" then exp.details = t.details end
    end
  end
  exp.code = exp.code or code_for_status(exp.status)
  local m = {
    [400] = "the API rejected the request as malformed",
    [401] = "the API key was not accepted",
    [403] = "the API key may not perform this action",
    [404] = "no such session",
    [408] = "the API timed out waiting for the request",
    [409] = "the request conflicts with the session's state",
    [422] = "the API could not process the request",
    [429] = "rate limited by the API",
  }
  if not exp.message then
    local s = exp.status
    exp.message = m[s]
      or (s >= 300 and s <= 399 and "the API answered with a redirect, which is not followed")
      or (s >= 500 and s <= 599 and "the API failed with a server error")
      or "the API answered with an unexpected status"
  end
  if rid ~= nil then
    local r = tostring(rid)
    r = r:match("^[^%z]*"):sub(1, 127):gsub("[%c\127]", "?")
    if #r > 0 then exp.request_id = r end
  end
  for _, k in ipairs { "status", "code", "message", "request_id", "retryable", "attempts" } do
    if err[k] ~= exp[k] then
      fail(
        "error_from_response(%s, %s, %s).%s = %s, expected %s",
        show(status),
        show(body),
        show(rid),
        k,
        show(err[k]),
        show(exp[k])
      )
    end
  end
  if not deep_equal(err.details, exp.details) then
    fail(
      "error_from_response(%s, %s).details = %s, expected %s",
      show(status),
      show(body),
      show(err.details),
      show(exp.details)
    )
  end
  if err.retry_after ~= nil then fail("error_from_response: retry_after %s", show(err.retry_after)) end
  -- the library's own codes are not checked here: the body names any code
  local okts, text = pcall(tostring, err)
  if not okts or text ~= expected_tostring(err) then fail("tostring(error_from_response(...)) = %s", show(text)) end
  return err
end

local saved_errors = {}
local function tostring_action(depth)
  stats.tostrings = stats.tostrings + 1
  local src = saved_errors[R.int(1, math.max(1, #saved_errors))] or zavu.error_from_response(404, "")
  local e = {}
  for k, v in pairs(src) do
    e[k] = v
  end
  for _ = 1, R.int(0, 3) do
    local k = R.pick { "code", "status", "message", "request_id", "attempts", "details", "extra" }
    e[k] = R.pick {
      false,
      0 / 0,
      1 / 0,
      -1,
      1e300,
      404.5,
      404,
      -0.0,
      999,
      1000,
      "",
      "x\0y",
      ("m"):rep(R.int(1, 20000)),
      {},
      true,
      function() end,
      "404",
    }
  end
  setmetatable(e, zavu.error_mt)
  log(depth, "tostring(%s)", show(e))
  local ok, text = pcall(tostring, e)
  if not ok then fail("tostring raised on %s: %s", show(e), show(text)) end
  if text ~= expected_tostring(e) then
    fail("tostring(%s) = %s, expected %s", show(e), show(text), show(expected_tostring(e)))
  end
end

---------------------------------------------------------------------------
-- coroutines

-- A coroutine that makes calls and yields between them (at its own level,
-- where yielding is fine); it may be resumed later from anywhere, even from
-- inside another call's on_progress, or never.
local CO_RAISE = setmetatable({}, { __tostring = function() return "fuzz coroutine error" end })

local function spawn_coroutine(depth)
  stats.coroutines = stats.coroutines + 1
  local steps = R.int(1, 4)
  local tbc = IS54 and R.chance(0.3)
  local co, tbc_rec
  local body = function()
    for i = 1, steps do
      propagate_failure()
      local rec = pick_for_call()
      if rec then
        if R.chance(0.6) then
          delete_call(rec, depth + 1)
        else
          many_call(rec, depth + 1)
        end
      else
        new_client(depth + 1)
      end
      if R.chance(0.08) then
        log(depth + 1, "coroutine raises (between calls)")
        error(CO_RAISE, 0) -- dies; a <close> client is closed on the way out
      end
      if i < steps then coroutine.yield("between calls") end
    end
    return "done"
  end
  if tbc then
    -- Lua 5.4: a client in a to-be-closed variable, closed when the coroutine
    -- ends or coroutine.close() closes it.
    local inner = body
    local with_close = load([[
      local new, mark, body = ...
      local h <close> = new()
      if h then mark(h) end
      return body()
    ]])
    body = function()
      return with_close(function()
        tbc_rec = new_client(depth + 1)
        return tbc_rec and tbc_rec.handle
      end, function() end, function()
        local r = inner()
        if tbc_rec then model_close(tbc_rec) end -- the __close that runs as we return
        return r
      end)
    end
    co = coroutine.create(body)
    saved_cos[#saved_cos + 1] = { co = co, tbc = function() return tbc_rec end }
  else
    co = coroutine.create(body)
    saved_cos[#saved_cos + 1] = { co = co }
  end
  log(depth, "coroutine #%d spawned (%d calls%s)", #saved_cos, steps, tbc and ", <close> client" or "")
end

local function resume_saved(depth)
  if #saved_cos == 0 then return spawn_coroutine(depth) end
  local i = R.int(1, #saved_cos)
  local entry = saved_cos[i]
  local co = entry.co
  local what = R.pick { "resume", "resume", "resume", "drop", "close" }
  local st = coroutine.status(co)
  if st ~= "suspended" then
    if st == "dead" then table.remove(saved_cos, i) end
    return -- "normal": it is up the stack, resuming us
  end
  if what == "drop" then
    log(depth, "coroutine dropped (left to the collector)")
    table.remove(saved_cos, i)
    return
  end
  if what == "close" and coroutine.close then
    log(depth, "coroutine.close")
    table.remove(saved_cos, i)
    local ok, e = coroutine.close(co)
    local rec = entry.tbc and entry.tbc()
    if rec then model_close(rec) end -- its <close> variable was closed
    if not ok and e == FAIL_MARK then error(FAIL_MARK, 0) end
    propagate_failure()
    if not ok then fail("coroutine.close: %s", show(e)) end
    return
  end
  log(depth, "coroutine resumed")
  local ok, e = coroutine.resume(co)
  if not ok then
    if e == FAIL_MARK then error(FAIL_MARK, 0) end
    propagate_failure()
    if e ~= CO_RAISE then fail("a coroutine died: %s", show(e)) end
    -- A coroutine that dies with an error does not unwind (5.4): its <close>
    -- client stays open until coroutine.close() closes it.
    local rec = entry.tbc and entry.tbc()
    if rec and R.chance(0.5) then
      log(depth, "coroutine.close after its error")
      local okc, ec = coroutine.close(co)
      if okc or ec ~= CO_RAISE then fail("coroutine.close of a dead coroutine: %s %s", tostring(okc), show(ec)) end
      model_close(rec)
    end
  end
  if coroutine.status(co) ~= "suspended" then table.remove(saved_cos, i) end
end

---------------------------------------------------------------------------
-- the actions of hostile code (callbacks, metamethods) and of the top level

-- What user code running inside a call on ctx.rec does. in_meta: from an
-- options table's __index (ctx.rec may be nil: new() runs on no client).
run_hostile = function(ctx, depth, in_meta)
  local rec = ctx.rec
  for _ = 1, R.int(1, 2) do
    propagate_failure()
    local act = R.weighted {
      { 4, "busy_delete" },
      { 3, "busy_many" },
      { 3, "busy_close" },
      { 5, "other_call" },
      { 2, "close_other" },
      { 3, "raise" },
      { 1, "yield" },
      { 1, "pcall_yield" },
      { 3, "gc" },
      { 2, "cancel" },
      { 1, "new_client" },
      { 2, "efr" },
      { 1, "tostring" },
      { 2, "coroutine" },
      { 2, "resume" },
      { 1, "drop" },
      { 1, "mutate_ids" },
      { 1, "garbage" },
    }
    if depth > 5 and (act == "other_call" or act == "coroutine" or act == "resume" or act == "new_client") then
      act = "gc"
    end
    if (act == "busy_delete" or act == "busy_many" or act == "busy_close" or act == "drop") and not rec then
      act = "other_call"
    end
    if ctx.no_yield and (act == "yield" or act == "pcall_yield" or act == "coroutine" or act == "resume") then
      act = "gc"
    end
    log(depth, "hostile: %s", act)
    if act == "busy_delete" then
      delete_call(rec, depth + 1)
    elseif act == "busy_many" then
      many_call(rec, depth + 1)
    elseif act == "busy_close" then
      do_close(rec, depth + 1)
    elseif act == "other_call" then
      local other = pick_for_call()
      if other then
        if R.chance(0.6) then
          delete_call(other, depth + 1)
        else
          many_call(other, depth + 1)
        end
      end
    elseif act == "close_other" then
      local other = pool_pick()
      if other then do_close(other, depth + 1) end
    elseif act == "raise" then
      hostile_raise(ctx, depth + 1)
    elseif act == "yield" then
      hostile_yield(ctx, depth + 1)
    elseif act == "pcall_yield" then
      local ok, e = pcall(coroutine.yield, "x")
      if ok or not tostring(e):find("yield", 1, true) then fail("yield inside a call: %s %s", tostring(ok), show(e)) end
    elseif act == "gc" then
      gc_now(depth + 1)
    elseif act == "cancel" then
      cancels = cancels + 1
      stats.cancels = stats.cancels + 1
      log(depth + 1, "zavu.cancel_all()")
      zavu.cancel_all()
    elseif act == "new_client" then
      new_client(depth + 1)
    elseif act == "efr" then
      local err = efr_action(depth + 1)
      if err then saved_errors[#saved_errors % 50 + 1] = err end
    elseif act == "tostring" then
      tostring_action(depth + 1)
    elseif act == "coroutine" then
      spawn_coroutine(depth + 1)
      resume_saved(depth + 1)
    elseif act == "resume" then
      resume_saved(depth + 1)
    elseif act == "drop" then
      for i = 1, MAXC do
        if pool[i] == rec then
          pool[i] = nil
          log(depth + 1, "dropped %s", rec_name(rec))
        end
      end
    elseif act == "mutate_ids" then
      if ctx.ids and not in_meta then -- from __index: before the call reads them
        local ids = ctx.ids
        for i = 1, #ids + 1 do
          local v = R.pick { "changed", false, "nil", 7 }
          if v == "nil" then v = nil end
          ids[i] = v
        end
        setmetatable(ids, {
          __index = function() fail("the library read the ids table through __index") end,
          __len = function() return 999 end,
        })
      end
    elseif act == "garbage" then
      make_garbage(R.int(1, 4))
    end
  end
end

-- Recursion through on_progress: each level a fresh client whose batch's
-- callback starts the next level. It must end in summaries or, deep enough,
-- in the interpreter's own "stack overflow" error: never in a crash.
local function deep_action(depth)
  local target = R.weighted { { 6, R.int(2, 12) }, { 3, R.int(13, 60) }, { 1, R.int(61, 250) } }
  local opts_new = { api_key = KEY, base_url = HTTP_URL, timeout = 10, max_retries = 0 }
  local reached, levels, c0 = 0, {}, cancels
  local function level(k)
    reached = k
    local c = zavu.new(opts_new)
    levels[k] = c
    local s, err = c.sessions.delete_many({ "p" .. k, "p" .. k .. "b" }, {
      concurrency = 2,
      on_progress = function(done)
        if done == 1 and k < target then level(k + 1) end
        if done == 2 and R.chance(0.3) then c.close() end -- deferred
      end,
    })
    if not s then fail("deep level %d: %s", k, tostring(err)) end
    local all_cancelled = #s.failed > 0
    for _, f in ipairs(s.failed) do
      check_error("deep level " .. k, f.error)
      if f.error.code ~= "cancelled" then all_cancelled = false end
    end
    if s.total ~= 2 or #s.deleted + #s.failed ~= 2 or (not s.ok and not (all_cancelled and cancels ~= c0)) then
      fail(
        "deep level %d of %d: %s",
        k,
        target,
        s.failed[1] and (show(s.failed[1].id) .. ": " .. tostring(s.failed[1].error)) or show(s)
      )
    end
    return s
  end
  log(depth, "deep recursion through on_progress, %d levels", target)
  local ok, e = pcall(level, 1)
  if not ok then
    if e == FAIL_MARK then error(FAIL_MARK, 0) end
    propagate_failure()
    local msg = tostring(e)
    if not (msg:find("stack overflow", 1, true) or msg:find("error in error handling", 1, true)) then
      fail("deep recursion (%d of %d levels) raised %s", reached, target, show(e))
    end
    log(depth, "-> stack overflow at level %d of %d", reached, target)
  else
    log(depth, "-> all %d levels done", target)
  end
  -- every level's client is free again (or closed by its own callback)
  for k, c in pairs(levels) do
    local okc, r = pcall(c.sessions.delete, "after" .. k)
    if okc and r ~= true and cancels == c0 then fail("deep: level %d client after the recursion: %s", k, show(r)) end
    if not okc and not tostring(r):find("client is closed", 1, true) then fail("deep: level %d: %s", k, show(r)) end
    c.close()
  end
end

local function probe(rec)
  if rec.closed or rec.busy > 0 then return end
  -- after a call returns the client is usable again: no client_busy, ever
  delete_call(rec, 1)
end

local function top_action()
  local act = R.weighted {
    { 6, "new" },
    { 26, "delete" },
    { 20, "many" },
    { 3, "close" },
    { 8, "efr" },
    { 3, "tostring" },
    { 5, "gc" },
    { 5, "coroutine" },
    { 5, "resume" },
    { 1, "cancel" },
    { 2, "check_options" },
    { 0.2, "new_default" },
    { 0.5, "deep" },
    { 3, "garbage" },
    { 0.5, "gcmode" },
    { 1, "drop" },
  }
  if STEP == pressure_until then set_pressure(false) end
  if pressure_until < STEP and R.chance(0.01) then
    pressure_until = STEP + R.int(10, 60)
    set_pressure(true)
    log(0, "collector pressure until step %d", pressure_until)
  end
  if pressure_until > STEP then make_garbage(R.int(2, 8)) end
  log(0, "step %d: %s", STEP, act)
  local touched
  if act == "new" then
    touched = new_client(0)
  elseif act == "delete" or act == "many" or act == "close" then
    local open = 0
    for i = 1, MAXC do
      if pool[i] and not pool[i].closed then open = open + 1 end
    end
    local rec = (open >= 2 or R.chance(0.3)) and pick_for_call() or new_client(1)
    if rec then
      if act == "delete" then
        delete_call(rec, 1)
      elseif act == "many" then
        many_call(rec, 1)
      else
        do_close(rec, 1)
      end
      touched = rec
    end
  elseif act == "efr" then
    local err = efr_action(1)
    if err then saved_errors[#saved_errors % 50 + 1] = err end
  elseif act == "tostring" then
    tostring_action(1)
  elseif act == "gc" then
    gc_now(1)
  elseif act == "coroutine" then
    spawn_coroutine(1)
    resume_saved(1)
  elseif act == "resume" then
    resume_saved(1)
  elseif act == "cancel" then
    cancels = cancels + 1
    stats.cancels = stats.cancels + 1
    zavu.cancel_all()
  elseif act == "check_options" then
    local ctx = new_ctx(nil)
    local vals = call_settings({ R = 2, T = 60 }, true, ctx, 1)
    local opts, must_raise = build_options(vals, MANY_READ, ctx, 1, CALL_VALIDATORS)
    log(1, "check_call_options(%s)", show(opts))
    local ok, e = pcall(zavu.check_call_options, opts)
    check_raise("check_call_options", ctx, ok, e, must_raise)
    -- and a client's: zavu.check_options reads them by name, then checks
    local cfg = gen_config("hi")
    ctx = new_ctx(nil)
    must_raise = false
    if R.chance(0.3) then
      local k = R.pick(CONFIG_READ)
      if k ~= "lua_version" then
        cfg[k] = CONFIG_VALIDATORS[k].bad()
        ctx.bad_keys[k], must_raise = true, true
      end
    end
    log(1, "check_options(%s)", show(cfg))
    ok, e = pcall(zavu.check_options, cfg)
    check_raise("check_options", ctx, ok, e, must_raise)
  elseif act == "deep" then
    deep_action(1)
  elseif act == "new_default" then
    -- no options at all: no key, so every call is refused before connecting
    local ok, h = pcall(core.new)
    if not ok then fail("core.new() raised %s", show(h)) end
    local okc, a, b = pcall(h.delete_session, h, "p1")
    if not okc or a ~= nil or not zavu.is_error(b) or b.code ~= "missing_api_key" then
      fail("core.new():delete_session: %s %s %s", tostring(okc), show(a), show(b))
    end
    check_error("core.new() delete", b)
    h:close()
  elseif act == "garbage" then
    make_garbage(R.int(1, 6))
  elseif act == "gcmode" then
    local mode = R.pick { "incremental", "generational", "setpause", "setstepmul" }
    log(1, "gc mode %s", mode)
    if mode == "setpause" then
      pcall(collectgarbage, "setpause", R.pick { 0, 50, 100, 200 })
    elseif mode == "setstepmul" then
      pcall(collectgarbage, "setstepmul", R.pick { 100, 200, 1000 })
    else
      pcall(collectgarbage, mode)
    end
  elseif act == "drop" then
    local i = R.int(1, MAXC)
    if pool[i] then log(1, "dropped %s", rec_name(pool[i])) end
    pool[i] = nil
  end
  -- every client not closed is free again, and works as its configuration says
  for i = 1, MAXC do
    local rec = pool[i]
    if rec and rec.busy ~= 0 then fail("model: %s still busy after the step", rec_name(rec)) end
  end
  if touched and pool_pick(function(r) return r == touched end) then probe(touched) end
  if R.chance(0.2) then
    local rec = pool_pick()
    if rec then probe(rec) end
  end
end

---------------------------------------------------------------------------
-- main

local function report_failure()
  io.stderr:write(
    ("\nfuzz_api: FAILED at step %d on %s, seed %d\n%s\n\nthe last steps:\n"):format(STEP, LUA, SEED, FAILED)
  )
  local first = math.max(1, ring_n - RING_MAX + 1)
  for i = first, ring_n do
    io.stderr:write(ring[(i - 1) % RING_MAX + 1], "\n")
  end
  io.stderr:write(("\nfuzz_api: FAILED at step %d on %s: %s\n"):format(STEP, LUA, (FAILED:match("^[^\n]*"))))
  io.stderr:write(
    ("replay: FUZZ_API_SEED=%d FUZZ_API_STEPS=%d FUZZ_API_LUAS=%s make fuzz-api\n"):format(
      SEED,
      STEP,
      env("FUZZ_API_TARGET", "asan:lua5.4")
    )
  )
end

print(
  ("fuzz_api: seed %d on %s (%s), %ss%s; replay with FUZZ_API_SEED=%d"):format(
    SEED,
    LUA,
    zavu.curl_version,
    tostring(SECONDS),
    MAX_STEPS and (", " .. MAX_STEPS .. " steps") or "",
    SEED
  )
)
io.stdout:flush()

local started = os.time()
local deadline = started + SECONDS
while not FAILED do
  if MAX_STEPS and STEP >= MAX_STEPS then break end
  if os.time() >= deadline then break end
  STEP = STEP + 1
  R = step_rng(STEP)
  local ok, e = pcall(top_action)
  if not ok then
    if e ~= FAIL_MARK and not FAILED then
      FAILED = "the fuzzer itself raised: " .. show(e) .. "\n" .. (debug.traceback and debug.traceback() or "")
    end
  end
  if STEP % 200 == 0 then
    collectgarbage()
    if #saved_cos > 30 then
      for i = 1, 15 do -- luacheck: ignore 213
        table.remove(saved_cos, 1)
      end
    end
  end
end

local elapsed = os.time() - started
if FAILED then report_failure() end

-- Close what is left, resume nothing: the collector and lua_close do the rest
-- (LeakSanitizer reports any client they miss).
R = step_rng(0)
saved_cos = {}
for i = 1, MAXC do
  local rec = pool[i]
  if rec and not rec.closed then pcall(function() rec.handle:close() end) end
  pool[i] = nil
end
collectgarbage()
collectgarbage()

local codes = {}
for k, v in pairs(stats.codes) do
  codes[#codes + 1] = k .. "=" .. v
end
table.sort(codes)
print(
  ("fuzz_api: %s on %s: seed %d, %d steps in %ds: %d calls (%d batches returned), %d ids, %d clients, %d progress calls, %d busy, %d raises, %d cancel_all, %d coroutines, %d finalizers, %d error_from_response, %d tostring"):format(
    FAILED and "FAILED" or "ok",
    LUA,
    SEED,
    STEP,
    elapsed,
    stats.calls,
    stats.batches,
    stats.ids,
    stats.clients,
    stats.progress,
    stats.busy,
    stats.raises,
    stats.cancels,
    stats.coroutines,
    stats.finalizers,
    stats.efr,
    stats.tostrings
  )
)
print("fuzz_api: codes " .. table.concat(codes, " "))
if logf then logf:close() end
if FAILED then error("fuzz_api: FAILED (seed " .. SEED .. ")", 0) end
