-- The plugin's logic: calls run on libuv's thread pool through zavu.nvim,
-- results come back on the main loop and are reported with vim.notify.
-- Reads ZAVUDEV_API_KEY (and ZAVUDEV_BASE_URL) from the environment.
local M = {}

local function zn() return require("zavu.nvim") end

local function notify(msg, level) vim.notify("Zavu: " .. msg, level or vim.log.levels.INFO) end

--- Delete the sessions named (each id a separate argument), concurrently.
function M.delete(ids, opts)
  if type(ids) == "string" then ids = { ids } end
  zn().sessions.delete_many(ids, opts, function(summary, err)
    if not summary then
      return notify("could not delete " .. table.concat(ids, ", ") .. ": " .. tostring(err), vim.log.levels.ERROR)
    end
    for _, id in ipairs(summary.deleted) do
      notify("deleted session " .. id)
    end
    for _, f in ipairs(summary.failed) do
      notify("could not delete session " .. f.id .. ": " .. tostring(f.error), vim.log.levels.ERROR)
    end
  end)
end

-- ---- :ZavuSessions ---------------------------------------------------------

local BUF_NAME = "zavu://sessions"
local MAX_PAGES = 1000
local rows = {} -- buffer -> { [line] = session }

-- Every session, page after page; callback(items) or callback(nil, err).
local function list_all(callback)
  local list = zn().sessions and zn().sessions.list
  if not list then
    return callback(nil, "this zavu has no sessions.list (it needs a zavu with the whole sessions family)")
  end
  local items, seen, pages = {}, {}, 0
  local function page(cursor)
    list({ limit = 100, cursor = cursor }, function(p, err)
      if not p then return callback(nil, err) end
      for _, s in ipairs(p.items) do
        items[#items + 1] = s
      end
      pages = pages + 1
      local next_cursor = p.nextCursor
      if not next_cursor then return callback(items) end
      if seen[next_cursor] or pages >= MAX_PAGES then
        return callback(nil, "the listing does not end (a cursor came back twice, or over " .. MAX_PAGES .. " pages)")
      end
      seen[next_cursor] = true
      page(next_cursor)
    end)
  end
  page(nil)
end

-- A field as one line of text (the API's strings may hold newlines).
local function cell(v)
  if v == nil then return "-" end
  return (tostring(v):gsub("%c", " "))
end

local function pad(s, width) return s .. string.rep(" ", width - vim.fn.strdisplaywidth(s)) end

local HELP = "D: delete the session under the cursor   R: refresh   q: close"

local function render(buf, sessions, err)
  if not vim.api.nvim_buf_is_valid(buf) then return end
  local lines, map = { HELP, "" }, {}
  if err then
    lines[#lines + 1] = "Could not list the sessions: " .. cell(err)
  elseif #sessions == 0 then
    lines[#lines + 1] = "No sessions."
  else
    local cols = { { "ID" }, { "NAME" }, { "STATUS" }, { "PHONE" } }
    for i, s in ipairs(sessions) do
      cols[1][i + 1], cols[2][i + 1] = cell(s.id), cell(s.displayName)
      cols[3][i + 1], cols[4][i + 1] = cell(s.status), cell(s.phoneNumber)
    end
    local widths = {}
    for c = 1, 3 do
      widths[c] = 0
      for _, v in ipairs(cols[c]) do
        widths[c] = math.max(widths[c], vim.fn.strdisplaywidth(v))
      end
    end
    for i = 1, #sessions + 1 do
      local line = pad(cols[1][i], widths[1])
        .. "  "
        .. pad(cols[2][i], widths[2])
        .. "  "
        .. pad(cols[3][i], widths[3])
        .. "  "
        .. cols[4][i]
      lines[#lines + 1] = (line:gsub("%s+$", ""))
      if i > 1 then map[#lines] = sessions[i - 1] end
    end
  end
  rows[buf] = map
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
end

local function refresh(buf)
  list_all(function(sessions, err)
    if err then notify("could not list the sessions: " .. tostring(err), vim.log.levels.ERROR) end
    render(buf, sessions, err)
  end)
end

local function delete_under_cursor(buf)
  local s = (rows[buf] or {})[vim.api.nvim_win_get_cursor(0)[1]]
  if not s then return notify("no session on this line", vim.log.levels.WARN) end
  local label = s.displayName and (s.id .. " (" .. cell(s.displayName) .. ")") or s.id
  if vim.fn.confirm("Delete session " .. label .. "?", "&Yes\n&No", 2) ~= 1 then return end
  zn().sessions.delete(s.id, { missing_ok = true }, function(ok, err)
    if ok then
      notify("deleted session " .. s.id)
    else
      notify("could not delete session " .. s.id .. ": " .. tostring(err), vim.log.levels.ERROR)
    end
    refresh(buf)
  end)
end

--- Open (or refresh) the sessions buffer.
function M.open()
  local buf = vim.fn.bufnr(BUF_NAME)
  if buf == -1 then
    buf = vim.api.nvim_create_buf(false, true) -- unlisted scratch buffer
    vim.api.nvim_buf_set_name(buf, BUF_NAME)
    vim.bo[buf].bufhidden = "wipe"
    vim.bo[buf].filetype = "zavu-sessions"
    local function map(lhs, f, desc) vim.keymap.set("n", lhs, f, { buffer = buf, nowait = true, desc = desc }) end
    map("D", function() delete_under_cursor(buf) end, "Delete the session under the cursor")
    map("dd", function() delete_under_cursor(buf) end, "Delete the session under the cursor")
    map("R", function() refresh(buf) end, "Refresh the list")
    map("q", "<cmd>bwipeout<cr>", "Close")
    vim.api.nvim_create_autocmd("BufWipeout", { buffer = buf, callback = function() rows[buf] = nil end })
  end
  local win = vim.fn.bufwinid(buf)
  if win == -1 then
    vim.cmd("botright sbuffer " .. buf)
  else
    vim.api.nvim_set_current_win(win)
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { HELP, "", "Loading..." })
  vim.bo[buf].modifiable = false
  refresh(buf)
  return buf
end

return M
