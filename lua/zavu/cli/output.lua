-- zavu.cli.output: what the command prints - data on stdout (a table, fields,
-- or JSON with --json), one readable line per error on stderr.
local term = require "zavu.cli.term"
local json = require "zavu.cli.json"

local M = {}

function M.say(...) -- a line on stdout
  io.stdout:write(table.concat({ ... }), "\n")
end

function M.note(...) -- a line on stderr, for the human
  io.stderr:write(table.concat({ ... }), "\n")
end

function M.print_json(v) io.stdout:write(json.encode(v), "\n") end

--- One line for an error table: code, HTTP status, message, details, request
-- id and attempts, every part cleaned for the terminal.
function M.error_line(err)
  if type(err) ~= "table" then return term.clean(err) end
  local parts = { term.clean(err.code or "error") }
  if err.status then parts[#parts + 1] = (" (HTTP %s)"):format(term.clean(err.status)) end
  parts[#parts + 1] = ": " .. term.clean(err.message or "no message")
  if err.details ~= nil then
    local d = type(err.details) == "table" and json.encode(err.details) or tostring(err.details)
    parts[#parts + 1] = "; details: " .. term.clean(d)
  end
  if err.request_id then parts[#parts + 1] = " [request_id=" .. term.clean(err.request_id) .. "]" end
  -- (attempts) apart from the message, unless the message counts them: libcurl's
  -- own messages say "after 0 ms", which an "after 3 attempts" would double
  if type(err.attempts) == "number" and err.attempts > 1 and not tostring(err.message):find("attempt") then
    parts[#parts + 1] = (" (%d attempts)"):format(err.attempts)
  end
  return table.concat(parts)
end

--- Report err about `what` ("session abc"): the line on stderr and, with
-- --json, {"error": {...}} on stdout.
function M.error(ctx, what, err)
  local prefix = term.paint(2, "red", "zavu: ")
  M.note(prefix, what and (term.clean(what) .. ": ") or "", M.error_line(err))
  if ctx and ctx.opts.json then
    M.print_json { error = type(err) == "table" and json.error_fields(err) or { message = tostring(err) } }
  end
end

local STATUS_COLOUR = {
  ready = "green",
  failed = "red",
  disconnected = "yellow",
  qr_ready = "yellow",
  authenticating = "yellow",
  initializing = "yellow",
}

-- Widths that fit cols, and which columns are shown: the most flexible
-- columns shrink first, to their min (a column marked keep does not); if
-- that is not enough, the columns marked drop go (1 first) and the widths
-- start over; at last every column may shrink to 4.
local function fit_widths(columns, natural, cols)
  local shown, drops = {}, {}
  for c, col in ipairs(columns) do
    shown[c] = true
    if col.drop then drops[#drops + 1] = c end
  end
  table.sort(drops, function(a, b) return columns[a].drop < columns[b].drop end)
  local function shrink(widths, last_resort)
    local total = -1
    for c = 1, #columns do
      if shown[c] then total = total + widths[c] + 1 end
    end
    local e = total - (cols - 1)
    for _, c in ipairs(M.by_flex(columns)) do
      if e <= 0 then break end
      if shown[c] and (last_resort or not columns[c].keep) then
        local low = math.min(widths[c], last_resort and 4 or columns[c].min or 8)
        local give = math.min(e, widths[c] - low)
        widths[c], e = widths[c] - give, e - give
      end
    end
    return e
  end
  for k = 1, #drops + 1 do
    local widths = {}
    for c = 1, #columns do
      widths[c] = natural[c]
    end
    if shrink(widths) <= 0 then return widths, shown end
    if k > #drops then
      shrink(widths, true)
      return widths, shown
    end
    shown[drops[k]] = false
  end
end

--- rows (tables) under columns { { title, key or function(row), flex = n,
-- min = n, drop = n, cut = bool, status = bool } }, on stdout (fd 1, the
-- default) or stderr (fd 2); on a terminal, fitted to its width.
function M.table(rows, columns, fd)
  fd = fd or 1
  local write = fd == 2 and M.note or M.say
  local cells, widths = {}, {}
  for c, col in ipairs(columns) do
    widths[c] = term.width(col[1])
  end
  for r, row in ipairs(rows) do
    cells[r] = {}
    for c, col in ipairs(columns) do
      local v = type(col[2]) == "function" and col[2](row) or row[col[2]]
      local s = v == nil and "-" or term.clean(v)
      cells[r][c] = s
      if term.width(s) > widths[c] then widths[c] = term.width(s) end
    end
  end
  local tty = term.isatty(fd)
  local shown = {}
  if tty then
    widths, shown = fit_widths(columns, widths, (term.size()))
  end
  local function line(values, header)
    local out = {}
    local last = #values
    while tty and last > 1 and not shown[last] do
      last = last - 1
    end
    for c, s in ipairs(values) do
      if not tty or shown[c] then
        if tty then -- a "cut" column loses its end without a mark (a time: its minutes)
          s = columns[c].cut and not header and s:sub(1, widths[c]) or term.fit(s, widths[c])
        end
        local pad = c < last and string.rep(" ", widths[c] - term.width(s)) or ""
        if header then
          s = term.paint(fd, "bold", s)
        elseif columns[c].status then
          s = term.paint(fd, STATUS_COLOUR[values[c]] or "dim", s)
        end
        out[#out + 1] = s .. pad
      end
    end
    return (table.concat(out, " "):gsub("%s+$", ""))
  end
  local titles = {}
  for c, col in ipairs(columns) do
    titles[c] = col[1]
  end
  write(line(titles, true))
  for r = 1, #rows do
    write(line(cells[r]))
  end
end

-- Column numbers, most flexible first (flex 0 or nil: never cut).
function M.by_flex(columns)
  local order = {}
  for c, col in ipairs(columns) do
    if (col.flex or 0) > 0 then order[#order + 1] = c end
  end
  table.sort(order, function(a, b) return columns[a].flex > columns[b].flex end)
  return order
end

--- An object as "key: value" lines, the keys in `order` first, nested
-- tables as key.sub; keys and values cleaned.
function M.fields(obj, order)
  local seen, lines = {}, {}
  local function add(prefix, k, v)
    if type(v) == "table" then
      local keys = {}
      for kk in pairs(v) do
        keys[#keys + 1] = tostring(kk)
      end
      table.sort(keys)
      for _, kk in ipairs(keys) do
        add(prefix .. k .. ".", kk, v[kk] == nil and v[tonumber(kk)] or v[kk])
      end
    else
      lines[#lines + 1] = { term.clean(prefix .. k), term.clean(v) } -- the keys are the server's too
    end
  end
  for _, k in ipairs(order or {}) do
    if obj[k] ~= nil then
      add("", k, obj[k])
      seen[k] = true
    end
  end
  local rest = {}
  for k in pairs(obj) do
    if not seen[k] then rest[#rest + 1] = tostring(k) end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do
    add("", k, obj[k])
  end
  local w = 0
  for _, l in ipairs(lines) do
    w = math.max(w, term.width(l[1]))
  end
  for _, l in ipairs(lines) do
    M.say(l[1], ":", string.rep(" ", w - term.width(l[1]) + 1), l[2])
  end
end

return M
