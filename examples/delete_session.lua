#!/usr/bin/env lua
-- Delete WhatsApp Alternative sessions:
--   ZAVUDEV_API_KEY=zv_live_... lua examples/delete_session.lua <session-id> [--missing-ok]
--   ZAVUDEV_API_KEY=zv_live_... lua examples/delete_session.lua --from-file ids.txt [--missing-ok]
-- --from-file reads one id per line ("-" reads standard input) and deletes them
-- concurrently, drawing a progress bar when stderr is a terminal.
-- Exit code 0 when every session is gone, 1 with the errors on stderr otherwise.
local zavu = require "zavu"

local USAGE = "usage: delete_session.lua <session-id> | --from-file <file|-> [--missing-ok]\n"

-- Close the Lua state on the way out (its clients' connections with it).
local function exit(code) os.exit(code, true) end

local function fail(text)
  io.stderr:write(text)
  exit(1)
end

local function describe(err)
  local lines = { tostring(err) }
  for _, field in ipairs { "status", "code", "message", "request_id", "retryable", "retry_after", "attempts" } do
    if err[field] ~= nil then lines[#lines + 1] = string.format("  %-11s %s", field, tostring(err[field])) end
  end
  return table.concat(lines, "\n") .. "\n"
end

local function read_ids(path)
  local f = path == "-" and io.stdin or io.open(path)
  if not f then fail("cannot read " .. path .. "\n") end
  local ids = {}
  for line in f:lines() do
    local id = line:match("^%s*(.-)%s*$")
    if id ~= "" then ids[#ids + 1] = id end
  end
  if f ~= io.stdin then f:close() end
  return ids
end

local function stderr_is_terminal()
  local r = os.execute("test -t 2") -- true on 5.2+, 0 on 5.1
  return r == true or r == 0
end

local function progress_bar()
  if not stderr_is_terminal() then return nil end
  return function(done, total)
    local width = 40
    local filled = math.floor(width * done / total)
    io.stderr:write(string.format("\r[%s%s] %d/%d", string.rep("#", filled), string.rep(" ", width - filled), done, total))
    if done == total then io.stderr:write("\n") end
  end
end

local args = { missing_ok = false }
local i = 1
while arg[i] do
  local a = arg[i]
  if a == "--missing-ok" then args.missing_ok = true
  elseif a == "--from-file" then args.file = arg[i + 1]; i = i + 1
  elseif a == "-h" or a == "--help" then fail(USAGE)
  elseif not args.id then args.id = a
  else fail(USAGE) end
  i = i + 1
end

if args.file then
  local ids = read_ids(args.file)
  local summary = zavu.sessions.delete_many(ids, { missing_ok = args.missing_ok, on_progress = progress_bar() })
  print(string.format("deleted %d of %d sessions", #summary.deleted, summary.total))
  for _, f in ipairs(summary.failed) do
    io.stderr:write(tostring(f.id), ": ", tostring(f.error), "\n")
  end
  exit(summary.ok and 0 or 1)
end

if not args.id then fail(USAGE) end
local ok, err = zavu.sessions.delete(args.id, { missing_ok = args.missing_ok })
if not ok then fail(describe(err)) end
print("deleted session " .. args.id)
