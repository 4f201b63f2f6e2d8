-- zavu.cli.qr: a session's QR code on the terminal (stderr), redrawn in place
-- each time it rotates. The encoding is the qrencode program's (Debian's
-- qrencode; $ZAVU_QRENCODE names another, empty means none); without it, or
-- off a terminal, the raw payload is printed instead, with a hint.
local term = require "zavu.cli.term"

local M = {}

local function shquote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- The renderer program, or nil when there is none.
function M.program()
  local prog = os.getenv("ZAVU_QRENCODE")
  if prog == nil then prog = "qrencode" end
  if prog == "" then return nil end
  local r = os.execute("command -v " .. shquote(prog) .. " >/dev/null 2>&1")
  if r == true or r == 0 then return prog end
  return nil
end

--- payload drawn by prog as text (ANSI colours when colour is true), or nil.
function M.render(prog, payload, colour)
  if payload:find("%z") then return nil end
  local kind = colour and "ANSIUTF8" or "UTF8"
  local p = io.popen(("printf '%%s' %s | %s -t %s -m 2 -o - 2>/dev/null"):format(shquote(payload),
    shquote(prog), kind))
  if not p then return nil end
  local art = p:read("*a")
  p:close()
  if not art or not art:find("\n") then return nil end
  return art
end

local function columns(text)
  local w = 0
  for line in text:gmatch("[^\n]*") do
    w = math.max(w, term.width((line:gsub("\27%[[%d;]*m", ""))))
  end
  return w
end

-- Lines text takes on a screen cols wide (long lines wrap).
local function screen_lines(text, cols)
  local n = 0
  for line in text:gmatch("([^\n]*)\n") do
    n = n + math.max(1, math.ceil(term.width((line:gsub("\27%[[%d;]*m", ""))) / cols))
  end
  return n
end

local HINT = "scan it with WhatsApp: Linked devices > Link a device"

--- An on_qr function for sessions.wait, and clear() to take the last
-- drawing away once the session is ready.
function M.display()
  local tty = term.isatty(2)
  local prog = tty and M.program()
  local shown, count = 0, 0 -- lines of the drawing on screen, QR codes shown
  local function erase()
    if shown > 0 then io.stderr:write("\27[", shown, "A\r\27[J") end
    shown = 0
  end
  local function on_qr(payload, session)
    count = count + 1
    local id = term.clean(session and session.id or "?")
    if not tty then
      io.stderr:write(("QR code %d of session %s (%s): %s\n"):format(count, id, HINT, term.clean(payload)))
      return
    end
    local cols, rows = term.size()
    local art = prog and M.render(prog, payload, term.colour(2))
    local text
    -- A code that does not fit whole cannot be scanned: then the payload.
    local fits = art and columns(art) < cols and screen_lines(art, cols) + 2 < rows
    if fits then
      text = art .. ("QR code %d of session %s:\n%s\n"):format(count, id, HINT)
    else
      local why = not prog and "install qrencode (apt-get install qrencode) to see it as a QR code here"
        or not art and "qrencode could not draw it"
        or columns(art) >= cols and ("the terminal is too narrow to draw it (%d columns needed)"):format(columns(art) + 1)
        or ("the terminal is too short to draw it (%d rows needed)"):format(screen_lines(art, cols) + 3)
      text = ("QR code %d of session %s (%s):\n%s\n(%s)\n"):format(count, id, HINT, term.clean(payload), why)
    end
    local lines = screen_lines(text, cols)
    if lines >= rows then
      io.stderr:write("\27[H\27[2J") -- too tall to redraw in place: a clear screen
      shown = 0
    else
      erase()
    end
    io.stderr:write(text)
    io.stderr:flush()
    shown = lines < rows and lines or 0
  end
  return on_qr, erase
end

return M
