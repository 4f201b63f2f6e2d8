-- zavu.cli.help: the help of each level of the command tree, made from the
-- tree itself so that it cannot drift from what the parser accepts.
local commands = require "zavu.cli.commands"

local M = {}

local NOTES = {
  [""] = [[
Environment:
  ZAVUDEV_API_KEY   the API key (a live key, zv_live_...); required
  ZAVUDEV_BASE_URL  the API's URL, as --base-url
  ZAVUDEV_LOG=debug as --verbose
  NO_COLOR          no colour; COLUMNS: the terminal's width
  ZAVU_QRENCODE     the QR renderer (default qrencode; empty: none)

Exit status: 0 when everything asked for was done, 1 when the API or the
network said no, 2 on a usage error (nothing is sent), 130 after Ctrl-C.
Errors are one line on stderr; with --json, stdout gets {"error": {...}}.]],
  ["sessions delete"] = [[
One id is deleted with one call; several (and --from-file) concurrently, with
a progress bar when stderr is a terminal. Ctrl-C stops at once and says what
was deleted and what was not. With --json: {ok, total, deleted, failed}.]],
  ["sessions prune"] = [[
Say what to prune: --status and/or --older-than (never every session by
default). Lists the sessions that match, shows them, and on a terminal asks
before deleting; off a terminal it deletes only with --yes. Answering no
exits 1 with nothing deleted.]],
  ["sessions create"] = [[
Prints the new session. With --wait, its QR code is drawn on the terminal
(stderr) by qrencode and redrawn each time it rotates, until the session is
ready; scan it from the phone: WhatsApp > Linked devices > Link a device.
Without qrencode, or off a terminal, the raw payload is printed instead.]],
  ["sessions list"] = [[
A table fitted to the terminal; --json prints every session as one JSON
array: every page is fetched first, so the listing is complete.]],
  ["completion"] = [[
Prints a script that completes zavu's commands, flags and flag values in
that shell, made from this zavu's own commands (save a copy again after an
upgrade). Load it from the shell's start-up file:
  bash  ~/.bashrc:                   eval "$(zavu completion bash)"
  zsh   ~/.zshrc, after compinit:    eval "$(zavu completion zsh)"
  fish  ~/.config/fish/config.fish:  zavu completion fish | source
or save it where the shell looks: bash-completion's
~/.local/share/bash-completion/completions/zavu, a directory of zsh's $fpath
as _zavu, or ~/.config/fish/completions/zavu.fish.]],
}

-- Every leaf under node, as { "sessions delete ID...", summary }.
local function leaves(node, prefix, out)
  out = out or {}
  if node.leaf then
    out[#out + 1] = { (prefix .. " " .. node.usage):gsub("%s+$", ""), node.summary }
    return out
  end
  for _, w in ipairs(commands.words(node)) do
    leaves(node.commands[w], prefix == "" and w or (prefix .. " " .. w), out)
  end
  return out
end

local WIDTH = 79

-- The words of a usage line, a [bracketed group] counting as one word.
local function units(usage)
  local list, depth, cur = {}, 0, ""
  for ch in usage:gmatch(".") do
    if ch == " " and depth == 0 then
      if cur ~= "" then list[#list + 1] = cur end
      cur = ""
    else
      if ch == "[" then
        depth = depth + 1
      elseif ch == "]" then
        depth = depth - 1
      end
      cur = cur .. ch
    end
  end
  if cur ~= "" then list[#list + 1] = cur end
  local i = 0
  return function()
    i = i + 1
    return list[i]
  end
end

-- "  left   text", the text wrapped at WIDTH under column `at`; a left part
-- too long for its column gets a line of its own.
local function entry(out, left, text, at)
  local lines, line = {}, ""
  for word in text:gmatch("%S+") do
    if line ~= "" and at + #line + 1 + #word > WIDTH then
      lines[#lines + 1] = line
      line = word
    else
      line = line == "" and word or (line .. " " .. word)
    end
  end
  lines[#lines + 1] = line
  local first = "  " .. left
  if #first + 1 > at then
    out[#out + 1] = first
    first = ""
  end
  for i, l in ipairs(lines) do
    local head = i == 1 and first or ""
    out[#out + 1] = head .. string.rep(" ", at - #head) .. l
  end
end

local function flag_lines(flags, out)
  for _, f in ipairs(flags) do
    local left = (f.short and (f.short .. ", ") or "    ") .. f.name .. (f.value and (" " .. f.value) or "")
    entry(out, left, f.help, 28)
  end
  entry(out, "-h, --help", "this help", 28)
end

--- The help text of the node reached by path (a list of words).
function M.text(node, path)
  local name = table.concat(path, " ")
  local out = {}
  if node.leaf then
    local head = "Usage: zavu " .. name
    local line = head
    for word in units(node.usage) do -- wrapped under the first word
      if #line + 1 + #word > WIDTH then
        out[#out + 1] = line
        line = string.rep(" ", #head)
      end
      line = line .. " " .. word
    end
    out[#out + 1] = line
    out[#out + 1] = ""
    out[#out + 1] = node.summary:sub(1, 1):upper() .. node.summary:sub(2) .. "."
    if node.flags and #node.flags > 0 then
      out[#out + 1] = ""
      out[#out + 1] = "Flags:"
      flag_lines(node.flags, out)
      out[#out + 1] = ""
      out[#out + 1] = "Common flags (see zavu --help): --base-url, --timeout, --connect-timeout,"
      out[#out + 1] = "  --max-retries, --ca-file, --json, -v, --version"
    else
      out[#out + 1] = ""
      out[#out + 1] = "Flags: the common ones (see zavu --help)."
    end
  else
    out[#out + 1] = name == "" and "Usage: zavu [FLAGS] COMMAND [ARGS]"
      or ("Usage: zavu %s COMMAND [ARGS] [FLAGS]"):format(name)
    out[#out + 1] = ""
    out[#out + 1] = name == "" and "The Zavu WhatsApp Alternative API: sessions, from the QR code to prune."
      or (node.summary:sub(1, 1):upper() .. node.summary:sub(2) .. ".")
    out[#out + 1] = ""
    out[#out + 1] = "Commands:"
    for _, l in ipairs(leaves(node, name)) do
      entry(out, l[1], l[2], 36)
    end
    out[#out + 1] = ""
    out[#out + 1] = name == "" and "Flags (anywhere before --; -- ends them, so an id may start with -):"
      or "Common flags:"
    local common = {}
    for _, f in ipairs(commands.common) do
      common[#common + 1] = f
    end
    flag_lines(common, out)
    entry(out, "    --version", "print the version", 28)
  end
  if NOTES[name] then
    out[#out + 1] = ""
    out[#out + 1] = NOTES[name]
  end
  return table.concat(out, "\n") .. "\n"
end

--- "Try 'zavu sessions delete --help'." for a usage error's second line.
function M.hint(path)
  local name = table.concat(path, " ")
  return ("Try 'zavu%s --help'."):format(name == "" and "" or (" " .. name))
end

return M
