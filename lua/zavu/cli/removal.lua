-- zavu.cli.removal: `zavu sessions delete` and `zavu sessions prune` - many
-- deletes at once, a progress bar on a terminal, a confirmation before a
-- prune, and a report of what was deleted and what was not (Ctrl-C too).
local args = require "zavu.cli.args"
local json = require "zavu.cli.json"
local output = require "zavu.cli.output"
local progress = require "zavu.cli.progress"
local term = require "zavu.cli.term"

local M = {}

-- "1 session", "4 sessions".
local function sessions_n(n)
  return n == 1 and "1 session" or (n .. " sessions")
end

local function readable(path)
  return require("zavu.cli").readable("--from-file", path)
end

-- The ids of a file, one a line (blank lines and blanks around ids skipped).
local function read_ids(ctx, path)
  local f = path == "-" and io.stdin or assert(io.open(readable(path), "rb"))
  local ids = {}
  local ok, err = pcall(function()
    for line in f:lines() do
      local id = line:match("^%s*(.-)%s*$")
      if id ~= "" and id:sub(1, 1) ~= "#" then ids[#ids + 1] = id end -- "# ..." is a comment
    end
  end)
  if f ~= io.stdin then f:close() end
  if not ok and not ctx.interrupted() then args.usage_error("cannot read --from-file %s: %s", path, tostring(err)) end
  return ids
end

local function plain_summary(summary, extra)
  local failed = json.array()
  for i, f in ipairs(summary.failed) do failed[i] = { id = f.id, error = json.error_fields(f.error) } end
  local out = { ok = summary.ok, total = summary.total, deleted = json.array(summary.deleted), failed = failed }
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

--- Print what a batch did; the exit status.
function M.report(ctx, summary, extra)
  local cancelled, failures = {}, 0
  for _, f in ipairs(summary.failed) do
    if f.error.code == "cancelled" then
      cancelled[#cancelled + 1] = term.clean(f.id)
    else
      failures = failures + 1
      output.note(term.paint(2, "red", "zavu: "), "session ", term.clean(f.id), ": ", output.error_line(f.error))
    end
  end
  if ctx.opts.json then
    output.print_json(plain_summary(summary, extra))
  elseif summary.total == 1 then
    if #summary.deleted == 1 then output.say("deleted session ", term.clean(summary.deleted[1])) end
  else
    output.say(("deleted %d of %s"):format(#summary.deleted, sessions_n(summary.total)))
  end
  if #cancelled > 0 or ctx.interrupted() then
    local shown = {}
    for i = 1, math.min(#cancelled, 20) do shown[i] = cancelled[i] end
    local more = #cancelled > 20 and (" and %d more (--json lists them)"):format(#cancelled - 20) or ""
    output.note(("zavu: interrupted: %d deleted, %d not deleted%s%s%s"):format(#summary.deleted,
      #cancelled + failures, #cancelled > 0 and ": " or "", table.concat(shown, " "), more))
    if #cancelled > 0 then
      output.note("zavu: a delete cut short may or may not have reached the API; "
        .. "run it again with --missing-ok to be sure")
    end
    return 130
  end
  if failures == 0 then return 0 end
  -- One id refused before anything was sent (".." say) is a usage error.
  return summary.total == 1 and require("zavu.cli").status_of(ctx.core, summary.failed[1].error) or 1
end

--- delete_many (or one delete) over ids, with a bar on a terminal.
function M.delete_ids(ctx, ids, missing_ok)
  local client = ctx.client()
  if #ids == 1 then
    local ok, err = client.sessions.delete(ids[1], { missing_ok = missing_ok })
    if ok then return { ok = true, total = 1, deleted = { ids[1] }, failed = {} } end
    return { ok = false, total = 1, deleted = {}, failed = { { id = ids[1], error = err } } }
  end
  local on_progress, finish
  if not ctx.opts.verbose then on_progress, finish = progress.bar(#ids) end
  local summary, err = client.sessions.delete_many(ids, { missing_ok = missing_ok,
    concurrency = ctx.opts.concurrency, on_progress = on_progress })
  if finish then finish() end
  if not summary then error(err, 0) end -- client_busy: not from a command
  return summary
end

function M.delete(ctx)
  local o = ctx.opts
  if #ctx.args == 0 and not o.from_file then args.usage_error("missing ID (or --from-file FILE)") end
  local ids, seen = {}, {}
  local function add(id)
    if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
  end
  for _, id in ipairs(ctx.args) do add(id) end
  if o.from_file then
    for _, id in ipairs(read_ids(ctx, o.from_file)) do add(id) end
  end
  if ctx.interrupted() then
    output.note("zavu: interrupted: nothing deleted")
    return 130
  end
  if #ids == 0 then output.note("zavu: no ids in ", term.clean(o.from_file), ": nothing to delete") end
  return M.report(ctx, M.delete_ids(ctx, ids, o.missing_ok))
end

local function confirm(n)
  io.stderr:write(n == 1 and "Delete this session? [y/N] " or ("Delete these %d sessions? [y/N] "):format(n))
  io.stderr:flush()
  local answer = io.stdin:read("*l")
  return answer ~= nil and (answer:match("^%s*[yY]%s*$") or answer:match("^%s*[yY][eE][sS]%s*$")) ~= nil
end

function M.prune(ctx)
  local o = ctx.opts
  if not o.status and not o.older_than then
    args.usage_error("say what to prune: --status S[,S] and/or --older-than AGE")
  end
  local ask = not o.dry_run and not o.yes
  if ask and not (term.isatty(0) and term.isatty(2)) then
    args.usage_error("not on a terminal, so no one to ask: add --yes to delete what matches, "
      .. "or --dry-run to see it")
  end
  local found, err = ctx.client().sessions.prune { status = o.status, older_than = o.older_than, dry_run = true }
  if not found then return ctx.fail("listing sessions", err) end
  local matched = json.array(found.matched)
  local sessions = require "zavu.cli.sessions"
  local function done(summary)
    if ctx.opts.json then
      output.print_json(plain_summary(summary, { matched = matched, dry_run = o.dry_run == true }))
    end
    return 0
  end
  if #matched == 0 then
    output.note("zavu: no sessions match: nothing to delete")
    return done { ok = true, total = 0, deleted = {}, failed = {} }
  end
  if o.dry_run then
    if not ctx.opts.json then output.table(matched, sessions.COLUMNS) end
    output.note(("zavu: --dry-run: %s would be deleted"):format(sessions_n(#matched)))
    return done { ok = true, total = #matched, deleted = {}, failed = {} }
  end
  if ask then
    output.table(matched, sessions.COLUMNS, 2)
    if not confirm(#matched) then
      if ctx.interrupted() then return 130 end
      output.note("zavu: nothing deleted")
      return 1
    end
  end
  if ctx.interrupted() then output.note("zavu: interrupted: nothing deleted"); return 130 end
  local ids = {}
  for i, s in ipairs(matched) do ids[i] = s.id end
  return M.report(ctx, M.delete_ids(ctx, ids, true), { matched = matched, dry_run = false })
end

return M
