-- zavu.cli.text: text from the network read as UTF-8, to find what a
-- terminal must never get raw. C0 controls and DEL start escape sequences
-- and break lines; C1 controls (U+0080-U+009F) do too on many terminals
-- (U+009B is a CSI); bidirectional overrides and isolates (U+202A-U+202E,
-- U+2066-U+2069) make what is shown read differently from what was sent;
-- and a byte that starts no valid UTF-8 sequence is whatever the terminal
-- makes of it (0x9B alone is a CSI to an 8-bit one). Pure Lua, every Lua.
local M = {}

-- Whether byte x is a continuation byte (from lo to hi, when narrower).
local function cont(x, lo, hi) return x ~= nil and x >= (lo or 0x80) and x <= (hi or 0xBF) end

-- The length and code point of the valid UTF-8 sequence at i (RFC 3629: no
-- overlong forms, no surrogates, nothing past U+10FFFF), or nil.
local function sequence(s, i)
  local a, b, c, d = s:byte(i, i + 3)
  if a < 0x80 then return 1, a end
  if a >= 0xC2 and a <= 0xDF then
    if cont(b) then return 2, (a - 0xC0) * 0x40 + (b - 0x80) end
  elseif a >= 0xE0 and a <= 0xEF then
    local lo, hi = a == 0xE0 and 0xA0 or 0x80, a == 0xED and 0x9F or 0xBF
    if cont(b, lo, hi) and cont(c) then return 3, (a - 0xE0) * 0x1000 + (b - 0x80) * 0x40 + (c - 0x80) end
  elseif a >= 0xF0 and a <= 0xF4 then
    local lo, hi = a == 0xF0 and 0x90 or 0x80, a == 0xF4 and 0x8F or 0xBF
    if cont(b, lo, hi) and cont(c) and cont(d) then
      return 4, (a - 0xF0) * 0x40000 + (b - 0x80) * 0x1000 + (c - 0x80) * 0x40 + (d - 0x80)
    end
  end
  return nil
end

--- Whether code point cp must not reach a terminal raw.
function M.unsafe(cp)
  return cp < 0x20
    or cp == 0x7F
    or (cp >= 0x80 and cp <= 0x9F)
    or (cp >= 0x202A and cp <= 0x202E)
    or (cp >= 0x2066 and cp <= 0x2069)
end

--- s with every unsafe character replaced by replace(cp) and every byte
-- that is not UTF-8 by replace(nil, byte); the rest as it was.
function M.map(s, replace)
  -- The bytes that may start something unsafe: controls, DEL, and any
  -- non-ASCII byte (a C1, a bidi control, or no UTF-8 at all).
  if not s:find("[%z\1-\31\127-\255]") then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local at = s:find("[%z\1-\31\127-\255]", i)
    if not at then
      out[#out + 1] = s:sub(i)
      break
    end
    out[#out + 1] = s:sub(i, at - 1)
    local len, cp = sequence(s, at)
    if not len then
      out[#out + 1] = replace(nil, s:byte(at))
      len = 1
    elseif M.unsafe(cp) then
      out[#out + 1] = replace(cp)
    else
      out[#out + 1] = s:sub(at, at + len - 1)
    end
    i = at + len
  end
  return table.concat(out)
end

return M
