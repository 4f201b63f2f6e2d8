-- The first half of `make soak` (scripts/soak): one client deletes N ids
-- (a million by default) through delete_many against the mock, in calls of
-- 5 000 fresh ids, and reports its resident memory and open descriptors
-- after the first 10 000 ids (two calls: glibc raises its mmap threshold when
-- the first call frees its arrays, so the second keeps up to 1 MiB more in
-- the heap - once; see bench/README.md) and at the end, each after a full
-- collection.
--   lua soak_many.lua BASE_URL API_KEY [N]
-- Exits 1 when memory moved by more than 1 MiB, the descriptors changed, or
-- an id failed.
local zavu = require "zavu"

local base_url, key = assert(arg[1], "BASE_URL"), assert(arg[2], "API_KEY")
local total = tonumber(arg[3]) or 1000000
local BATCH, WARM = 5000, 10000

local function rss_kib() -- read whole and closed: an io.lines left early holds its descriptor
  local f = io.open("/proc/self/status")
  local text = f:read("*a")
  f:close()
  return tonumber(text:match("VmRSS:%s+(%d+)"))
end

local pid = io.open("/proc/self/stat"):read("*l"):match("^%d+")
local function open_fds() -- ls runs in a child: the pipe to it is ours, counted every time alike
  local p = io.popen("ls /proc/" .. pid .. "/fd | wc -l")
  local n = tonumber(p:read("*a"))
  p:close()
  return n
end

local client = zavu.new { api_key = key, base_url = base_url, max_retries = 2, timeout = 10 }
local label = rawget(_G, "jit") and jit.version or _VERSION
local deleted, failed, first_rss, first_fds = 0, 0, nil, nil
local started = os.time()
for b = 1, math.ceil(total / BATCH) do
  local ids = {}
  for i = 1, math.min(BATCH, total - (b - 1) * BATCH) do
    ids[i] = ("soak-%d-%d"):format(b, i)
  end
  local s = client.sessions.delete_many(ids, { concurrency = 8 })
  deleted, failed = deleted + #s.deleted, failed + #s.failed
  if s.failed[1] then print("failed: " .. s.failed[1].id .. " " .. tostring(s.failed[1].error)) end
  ids, s = nil, nil -- luacheck: ignore (dropped for the collection below)
  collectgarbage()
  collectgarbage()
  if b == 1 then
    first_rss, first_fds = rss_kib(), open_fds()
  end
  if b * BATCH % 100000 == 0 then
    io.write(
      ("  %s: %d ids, RSS %d KiB, %d fds, %d s\n"):format(
        label,
        deleted + failed,
        rss_kib(),
        open_fds(),
        os.time() - started
      )
    )
    io.flush()
  end
end
local rss, fds = rss_kib(), open_fds()
print(
  ("soak many on %s: %d ids in %d s (%d deleted, %d failed); RSS after the first %d: %d KiB, at the end: %d KiB (%+d KiB); open fds %d, then %d"):format(
    label,
    deleted + failed,
    os.time() - started,
    deleted,
    failed,
    WARM,
    first_rss,
    rss,
    rss - first_rss,
    first_fds,
    fds
  )
)
os.exit((math.abs(rss - first_rss) <= 1024 and fds == first_fds and failed == 0) and 0 or 1)
