-- zavu.cli.term: what the command knows of its terminal - whether a stream
-- is one, how wide it is, whether colour is welcome - and how text from the
-- network is made safe to print there.
local network_text = require "zavu.cli.text"

local M = {}

local ttys = {}

--- Whether file descriptor fd (0, 1, 2) is a terminal. os.execute's child
-- inherits our descriptors, so test -t looks at ours.
function M.isatty(fd)
  if ttys[fd] == nil then
    local r = os.execute("test -t " .. fd)
    ttys[fd] = r == true or r == 0 -- 5.2+: true; 5.1: the status
  end
  return ttys[fd]
end

local function popen_number(cmd, pattern)
  local p = io.popen(cmd .. " 2>/dev/null")
  if not p then return nil end
  local out = p:read("*a") or ""
  p:close()
  return tonumber(out:match(pattern))
end

local size

--- Columns and rows of the terminal: $COLUMNS (and $LINES) when set, else
-- stty's answer for the controlling terminal, else tput's, else 80x24.
function M.size()
  if size then return size[1], size[2] end
  local cols, rows = tonumber(os.getenv("COLUMNS") or ""), tonumber(os.getenv("LINES") or "")
  if not (cols and cols > 0) or not (rows and rows > 0) then
    local p = io.popen("stty size </dev/tty 2>/dev/null")
    local out = p and p:read("*a") or ""
    if p then p:close() end
    local r, c = out:match("^(%d+)%s+(%d+)")
    r, c = tonumber(r), tonumber(c)
    if not (c and c > 0) then
      c = popen_number("tput cols", "^(%d+)")
      r = popen_number("tput lines", "^(%d+)")
    end
    if not (cols and cols > 0) then cols = c end
    if not (rows and rows > 0) then rows = r end
  end
  if not (cols and cols > 0) then cols = 80 end
  if not (rows and rows > 0) then rows = 24 end
  size = { math.floor(cols), math.floor(rows) }
  return size[1], size[2]
end

--- Colour on fd: only on a terminal, never with NO_COLOR set (no-color.org)
-- or a dumb terminal.
function M.colour(fd)
  local no = os.getenv("NO_COLOR")
  if no and no ~= "" then return false end
  if os.getenv("TERM") == "dumb" then return false end
  return M.isatty(fd)
end

local SGR = { red = "31", green = "32", yellow = "33", bold = "1", dim = "2" }

--- text in colour name when colour is on for fd.
function M.paint(fd, name, text)
  if not M.colour(fd) or not SGR[name] then return text end
  return "\27[" .. SGR[name] .. "m" .. text .. "\27[0m"
end

--- Text from the network made safe for a terminal and one line: controls
-- (C0, DEL: \xNN; a newline: \n; a tab: a blank), C1 controls and
-- bidirectional overrides and isolates (\u009B, \u202E) and bytes that are
-- not UTF-8 (\xNN) are shown escaped, never sent raw (zavu.cli.text).
function M.clean(s)
  return network_text.map(tostring(s), function(cp, byte)
    if cp == 10 then return "\\n" end
    if cp == 9 then return " " end
    if cp and cp >= 0x80 then return ("\\u%04X"):format(cp) end
    return ("\\x%02X"):format(cp or byte)
  end)
end

--- Width on screen of UTF-8 text (one column per code point: close enough
-- for ids, names and timestamps).
function M.width(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

--- s cut to at most w columns, ending in "…" when cut.
function M.fit(s, w)
  if M.width(s) <= w then return s end
  if w <= 0 then return "" end
  local out, n = {}, 0
  for ch in s:gmatch("[%z\1-\127\192-\255][\128-\191]*") do
    if n == w - 1 then break end
    out[#out + 1] = ch
    n = n + 1
  end
  return table.concat(out) .. "…"
end

return M
