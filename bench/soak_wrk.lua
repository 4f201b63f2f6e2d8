-- wrk script for the second half of `make soak` (scripts/soak): each request
-- deletes a fresh id through examples/openresty/nginx.conf's /sessions/, on a
-- connection of its own (a kept-alive connection that a retiring worker
-- closes while a request is on its way is a race of HTTP keep-alive, not of
-- the module: this counts what the workers answer). `wrk ... -- PER_THREAD
-- DONE_FILE`: each thread stops after PER_THREAD answers and appends a line to
-- DONE_FILE (wrk itself waits out its -d: scripts/soak interrupts it once
-- every thread is done); done() prints the answers by status.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

share, sent, answered, statuses, done_file = 0, 0, 0, {}, nil -- globals: thread:get reads them

function init(args)
  share = tonumber(args[1]) or 50000
  done_file = args[2]
end

function request()
  sent = sent + 1
  return wrk.format("DELETE", ("/sessions/soak-%d-%d-%d"):format(os.time(), id, sent), { Connection = "close" })
end

function response(status)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if answered == share then
    if done_file then
      local f = io.open(done_file, "a")
      f:write("done\n")
      f:close()
    end
    wrk.thread:stop()
  end
end

function done(summary)
  local total, by_status = 0, {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + n
      total = total + n
    end
  end
  local parts = {}
  for status, n in pairs(by_status) do
    parts[#parts + 1] = status .. "=" .. n
  end
  table.sort(parts)
  local e = summary.errors
  io.write(
    ("wrk: %d answered (%s); socket errors: connect %d, read %d, write %d, timeout %d; %.1f s\n"):format(
      total,
      table.concat(parts, " "),
      e.connect,
      e.read,
      e.write,
      e.timeout,
      summary.duration / 1e6
    )
  )
end
