#!/usr/bin/env lua
-- Delete a WhatsApp Alternative session:
--   ZAVUDEV_API_KEY=zv_live_... lua examples/delete_session.lua <session-id> [--missing-ok]
-- Exit code 0 when the session is gone, 1 with the error on stderr otherwise.
local zavu = require "zavu"

local id = arg[1]
if not id or id == "-h" or id == "--help" then
  io.stderr:write("usage: delete_session.lua <session-id> [--missing-ok]\n")
  os.exit(1)
end

local ok, err = zavu.sessions.delete(id, { missing_ok = arg[2] == "--missing-ok" })
if ok then
  print("deleted session " .. id)
  os.exit(0)
end

io.stderr:write(tostring(err), "\n")
for _, field in ipairs { "status", "code", "message", "request_id", "retryable", "retry_after", "attempts" } do
  if err[field] ~= nil then io.stderr:write(string.format("  %-11s %s\n", field, tostring(err[field]))) end
end
os.exit(1)
