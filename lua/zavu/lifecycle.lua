-- zavu.lifecycle: what is built from several calls - waiting for a session
-- to reach a status (polling get, showing each new QR code), and pruning
-- the sessions that match (listing, then delete_many).
local core = require "zavu.core"
local methods = require "zavu.methods"
local schema = require "zavu.schema"

local M = {}

-- Checks raise without a position; the public functions raise the message
-- again at their caller's line (at_caller: methods.checked).
local raise = schema.raise

local at_caller = methods.checked

-- The options each takes: one list each. prune takes every call option
-- (zavu.core's list) and hands them to the listing and to delete_many.
local WAIT_OPTIONS = { "status", "timeout", "total_timeout", "interval", "on_qr" }
local CALL_OPTIONS = schema.OPTIONS.call
local PRUNE_OPTIONS = schema.names({ "status", "older_than", "filter", "dry_run", "concurrency" }, CALL_OPTIONS)

local function check_seconds(fname, name, v, dflt)
  if v == nil then return dflt end
  if type(v) ~= "number" or v ~= v or v <= 0 or v == math.huge then
    raise("bad option '%s' to '%s' (finite number of seconds > 0 expected, got %s)", name, fname, tostring(v))
  end
  return v
end

-- The statuses the API knows (WhatsAppAltSessionStatus): a typo such as
-- "Ready" would otherwise wait out the whole timeout, or prune nothing.
local STATUSES = {
  disconnected = true,
  initializing = true,
  qr_ready = true,
  authenticating = true,
  ready = true,
  failed = true,
}

-- A status, or a list of them, as a set.
local function status_set(fname, v, dflt)
  if v == nil then v = dflt end
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" or #v == 0 then
    raise("bad option 'status' to '%s' (a status or a list of them expected)", fname)
  end
  local set = {}
  for _, s in ipairs(v) do
    if not STATUSES[s] then
      raise(
        "bad option 'status' to '%s' (%s is no session status: disconnected, initializing, qr_ready, "
          .. "authenticating, ready or failed)",
        fname,
        type(s) == "string" and ("'" .. s .. "'") or type(s)
      )
    end
    set[s] = true
  end
  return set
end

--- Check wait's arguments; raises on misuse. Returns the settings.
function M.check_wait(id, opts)
  if type(id) ~= "string" and type(id) ~= "number" then -- a number: as get takes it
    raise("bad argument #1 to 'wait' (string expected for sessionId, got %s)", type(id))
  end
  if opts ~= nil and type(opts) ~= "table" then
    raise("bad argument #2 to 'wait' (table expected, got %s)", type(opts))
  end
  opts = opts or {}
  schema.check_names(opts, "wait", WAIT_OPTIONS)
  if opts.on_qr ~= nil and type(opts.on_qr) ~= "function" then
    raise("bad option 'on_qr' to 'wait' (function expected, got %s)", type(opts.on_qr))
  end
  return {
    want = status_set("wait", opts.status, "ready"),
    timeout = check_seconds("wait", "timeout", opts.timeout, 180),
    total_timeout = check_seconds("wait", "total_timeout", opts.total_timeout, nil),
    interval = check_seconds("wait", "interval", opts.interval, 2),
    on_qr = opts.on_qr,
  }
end

--- wait(id, { status = "ready", timeout = 180, interval = 2, on_qr = f })
-- -> the session once its status is one asked for, or nil and an error:
-- the get's own (404...), "session_failed" (with lastError and the
-- session), "timeout", or "cancelled". Polls no faster than interval.
-- get: the detailed form of sessions.get (value, err, status, attempts: see
-- zavu.methods.detailed), so that every error carries the requests the wait
-- sent and the last status it saw.
-- timeout is the whole wait's, and so is a total_timeout (the call's, else
-- the client's client_total): the shorter bounds it. Each get is given what
-- is left as its total_timeout, retry waits included.
local MAX_SLEEP = 2147483 -- what zavu.core.sleep takes (libcurl's INT_MAX ms)

-- sent: { attempts, status } of the requests made so far; fields: more.
local function failure(sent, code, message, fields)
  local err = methods.failure(code, message, fields)
  err.attempts, err.status = sent.attempts, sent.status
  return err
end

local function cancelled(sent) return nil, failure(sent, "cancelled", "the call was cancelled before it finished") end

function M.wait(get, client_total)
  return function(id, opts)
    local w = at_caller(M.check_wait, id, opts)
    local since = core.cancel_count() -- a cancel_all from now on ends the wait
    -- under 1 ms counts as 1 ms, as for every call
    local total = math.max(math.min(w.timeout, w.total_timeout or client_total or w.timeout), 0.001)
    local deadline = core.now() + total
    local last_qr
    local sent = { attempts = 0 }
    while true do
      local started = core.now()
      local left = deadline - started
      if left <= 0 then
        return nil,
          failure(sent, "timeout", ("the session did not reach the status asked for within %g s"):format(total))
      end
      -- never longer than what is left, its attempts and retry waits included
      local s, err, status, attempts = get(id, { total_timeout = left })
      sent.attempts, sent.status = sent.attempts + (attempts or 0), status or sent.status
      if not s then
        err.attempts = sent.attempts -- every get of the wait
        return nil, err
      end
      if core.cancel_count() ~= since then return cancelled(sent) end
      -- a new QR code to scan: only while the session shows one (a stale
      -- qrCode next to another status is no code to scan)
      if s.status == "qr_ready" and s.qrCode and s.qrCode ~= last_qr then
        last_qr = s.qrCode
        if w.on_qr then w.on_qr(s.qrCode, s) end
        if core.cancel_count() ~= since then return cancelled(sent) end
      end
      if w.want[s.status] then return s end
      if s.status == "failed" then
        return nil,
          failure(
            sent,
            "session_failed",
            "the session failed: " .. tostring(s.lastError or "no reason given"),
            { lastError = s.lastError, session = s }
          )
      end
      local next_poll = started + w.interval
      if next_poll > deadline then -- no poll fits before the deadline: wait it out
        if not core.sleep(math.min(MAX_SLEEP, math.max(0, deadline - core.now())), since) then
          return cancelled(sent)
        end
        return nil,
          failure(
            sent,
            "timeout",
            ("the session did not reach the status asked for within %g s (it is %s)"):format(total, tostring(s.status)),
            { session = s }
          )
      end
      if not core.sleep(math.min(MAX_SLEEP, math.max(0, next_poll - core.now())), since) then return cancelled(sent) end
    end
  end
end

-- Seconds since the epoch of an RFC 3339 time ("2026-11-01T12:00:00.5Z",
-- "...+02:00"), or nil. Days from the civil date by arithmetic: no
-- os.time, whose idea of the time zone is the machine's.
local function epoch(text)
  if type(text) ~= "string" then return nil end
  local y, mo, d, h, mi, s, rest = text:match("^(%d%d%d%d)-(%d%d)-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo = tonumber(y), tonumber(mo)
  local offset = 0
  local sign, oh, om = rest:match("([+-])(%d%d):?(%d%d)$")
  if sign then
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  elseif not rest:match("^[.%d]*[Zz]$") then
    return nil
  end
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (mo + (mo > 2 and -3 or 9)) + 2) / 5) + tonumber(d) - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s) - offset
end
M.epoch = epoch

--- Check prune's arguments; raises on misuse.
function M.check_prune(opts)
  if type(opts) ~= "table" then raise("bad argument #1 to 'prune' (table expected, got %s)", type(opts)) end
  schema.check_names(opts, "prune", PRUNE_OPTIONS)
  if opts.status == nil and opts.older_than == nil and opts.filter == nil then
    raise(
      "bad argument #1 to 'prune' (say what to prune: status, older_than or filter; "
        .. "pruning every session is never a default)"
    )
  end
  if opts.filter ~= nil and type(opts.filter) ~= "function" then
    raise("bad option 'filter' to 'prune' (function expected, got %s)", type(opts.filter))
  end
  if opts.dry_run ~= nil and type(opts.dry_run) ~= "boolean" then
    raise("bad option 'dry_run' to 'prune' (boolean expected, got %s)", type(opts.dry_run))
  end
  if
    opts.older_than ~= nil
    and (
      type(opts.older_than) ~= "number"
      or opts.older_than ~= opts.older_than
      or opts.older_than < 0
      or opts.older_than == math.huge
    )
  then
    raise(
      "bad option 'older_than' to 'prune' (finite number of seconds >= 0 expected, got %s)",
      tostring(opts.older_than)
    )
  end
  -- What the listing and delete_many will be given, checked before either runs.
  local call_opts = schema.pick(opts, CALL_OPTIONS)
  local many_opts = schema.pick(opts, CALL_OPTIONS)
  many_opts.concurrency, many_opts.missing_ok = opts.concurrency, true
  core.check_call_options(many_opts)
  return opts.status ~= nil and status_set("prune", opts.status) or nil, call_opts, many_opts
end

--- prune { status = {...}, older_than = seconds, filter = f, dry_run, concurrency,
-- timeout, total_timeout, max_retries } -> the delete_many summary plus
-- `matched` (the sessions chosen) and `dry_run`; or nil and the listing's
-- error. total_timeout (else the client's client_total) bounds the whole:
-- the listing, then delete_many with what is left.
-- all: the detailed form of sessions.all (see zavu.methods.detailed).
function M.prune(all, delete_many, client_total)
  return function(opts)
    local statuses, call_opts, many_opts = at_caller(M.check_prune, opts)
    local cancels = core.cancel_count() -- a cancel_all while choosing stops before deleting
    local deadline = methods.deadline(opts.total_timeout, client_total)
    call_opts.total_timeout = methods.left(deadline)
    local sessions, err, status, attempts = all(nil, call_opts)
    if not sessions then return nil, err end
    local listed = { attempts = attempts, status = status }
    local now, matched, ids = os.time(), {}, {}
    for _, s in ipairs(sessions) do
      local ok = not statuses or statuses[s.status]
      if ok and opts.older_than then
        local created = epoch(s.createdAt)
        ok = created ~= nil and now - created >= opts.older_than
      end
      if ok and opts.filter then ok = opts.filter(s) and true or false end
      if ok then
        matched[#matched + 1] = s
        ids[#ids + 1] = s.id
      end
    end
    if core.cancel_count() ~= cancels then return cancelled(listed) end
    local late = not opts.dry_run and methods.out_of_time(deadline, "the first delete")
    if late then
      late.attempts, late.status = listed.attempts, listed.status
      return nil, late
    end
    local summary
    if opts.dry_run then
      summary = { ok = true, total = #ids, deleted = {}, failed = {} }
    else
      local derr
      many_opts.total_timeout = methods.left(deadline)
      summary, derr = delete_many(ids, many_opts)
      if not summary then return nil, derr end -- client_busy
    end
    summary.matched = matched
    summary.dry_run = opts.dry_run == true
    return summary
  end
end

return M
