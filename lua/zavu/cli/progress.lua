-- zavu.cli.progress: a progress bar on stderr, only when stderr is a
-- terminal, fitted to its width: "[#####     ] 12/30", redrawn in place.
local term = require "zavu.cli.term"

local M = {}

--- The bar's text for done of total in at most cols columns (one column is
-- left free: writing the last one makes some terminals wrap).
function M.render(done, total, cols)
  local count = (" %d/%d"):format(done, total)
  local room = cols - 1 - #count - 2
  if room < 5 then return (count:sub(2)) end
  local filled = total > 0 and math.floor(room * done / total) or room
  return "[" .. string.rep("#", filled) .. string.rep(" ", room - filled) .. "]" .. count
end

--- An on_progress function for delete_many, or nil when stderr is not a
-- terminal. finish() ends the line (after a Ctrl-C too).
function M.bar(total)
  if not term.isatty(2) or total < 2 then
    return nil, function() end
  end
  local cols = term.size()
  local last, drawn
  local function draw(done)
    local text = M.render(done, total, cols)
    if text ~= last then
      io.stderr:write("\r", text, "\27[K")
      io.stderr:flush()
      last, drawn = text, true
    end
  end
  draw(0)
  return function(done) draw(done) end, function()
    if drawn then
      io.stderr:write("\n")
      drawn = false
    end
  end
end

return M
