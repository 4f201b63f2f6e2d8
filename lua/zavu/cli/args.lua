-- zavu.cli.args: the command line read against the command tree
-- (zavu.cli.commands). Nothing here sends anything: every mistake is found
-- before the first request and raised as a usage error naming the argument.
--
-- Rules: flags may come anywhere before "--" (--flag VALUE or --flag=VALUE);
-- "--" ends them, so an id may start with "-"; a word that starts with "-"
-- and is no flag of this command is an error, never an id; -h/--help wins
-- over everything else.
local M = {}

local USAGE = {} -- the metatable of a usage error

--- Raise a usage error: exit status 2, the message on stderr.
function M.usage_error(fmt, ...) error(setmetatable({ message = fmt:format(...) }, USAGE), 0) end

function M.is_usage_error(e) return getmetatable(e) == USAGE end

local UNITS = { ms = 0.001, s = 1, m = 60, h = 3600, d = 86400, w = 604800 }

--- "90", "1.5", "500ms", "2m", "7d", "1d12h" -> seconds, or nil.
function M.duration(text)
  local n = tonumber(text)
  if n then return n end
  if not text:match("^[%d.]+%a+[%d.%a]*$") then return nil end
  local total, rest = 0, text
  while rest ~= "" do
    local num, unit, tail = rest:match("^(%d*%.?%d+)(%a+)(.*)$")
    if not num or not UNITS[unit] then return nil end
    total, rest = total + tonumber(num) * UNITS[unit], tail
  end
  return total
end

-- Each kind turns the text of a flag's value into the option's value.
local KINDS = {}
function KINDS.seconds(flag, text)
  local v = M.duration(text)
  if not v or v ~= v or v <= 0 or v == math.huge then
    M.usage_error("bad value for %s: '%s' (a duration > 0 expected: 10, 1.5, 500ms, 2m)", flag.name, text)
  end
  return v
end
function KINDS.age(flag, text)
  -- A unit is required: "7" meaning seven seconds would prune nearly everything.
  local v = not tonumber(text) and M.duration(text)
  if not v or v ~= v or v < 0 or v == math.huge then
    M.usage_error("bad value for %s: '%s' (an age with its unit expected: 7d, 12h, 30m, 1d12h, 90s)", flag.name, text)
  end
  return v
end
function KINDS.count(flag, text)
  local v = tonumber(text)
  if not text:match("^%d+$") or not v or v < flag.min or v > flag.max then
    M.usage_error("bad value for %s: '%s' (a whole number from %d to %d expected)", flag.name, text, flag.min, flag.max)
  end
  return v
end
function KINDS.choice(flag, text)
  for _, c in ipairs(flag.choices) do
    if c == text then return text end
  end
  M.usage_error("bad value for %s: '%s' (one of %s expected)", flag.name, text, table.concat(flag.choices, ", "))
end
function KINDS.list(flag, text, old) -- comma-separated, from a known set; repeats add up
  local list = old or {}
  for item in (text .. ","):gmatch("([^,]*),") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then list[#list + 1] = KINDS.choice(flag, item) end
  end
  if #list == 0 then M.usage_error("bad value for %s: '%s' (%s expected)", flag.name, text, flag.value) end
  return list
end
function KINDS.string(flag, text)
  if text == "" then M.usage_error("bad value for %s: it is empty", flag.name) end
  return text
end
function KINDS.url(flag, text)
  if not text:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/]") then
    M.usage_error("bad value for %s: '%s' (an http:// or https:// URL expected)", flag.name, text)
  end
  return text
end

-- The flag called name for this node (its own, then the common ones).
local function lookup(tree, node, name)
  for _, set in ipairs { node.flags or {}, tree.common } do
    for _, f in ipairs(set) do
      if f.name == name or f.short == name then return f end
    end
  end
end

--- Read argv. Returns { node = the command reached, path = its words,
-- opts = flag values by key, args = the other words, help = bool,
-- version = bool }; raises a usage error (unless --help was asked for).
function M.parse(tree, argv)
  local r = { node = tree, path = {}, opts = {}, args = {}, help = false, version = false }
  local problem -- the first usage error: raised at the end unless help wins
  local function note(e) problem = problem or e end
  local i, ended = 1, false
  while i <= #argv do
    local a = argv[i]
    if not ended and a == "--" then
      ended = true
    elseif not ended and a:sub(1, 1) == "-" and a ~= "-" then
      local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
      name = name or a
      if name == "-h" or name == "--help" then
        r.help = true
      elseif name == "--version" then
        r.version = true
      else
        local flag = lookup(tree, r.node, name)
        local ok, e = pcall(function()
          if not flag then
            local where = #r.path > 0 and (" for 'zavu " .. table.concat(r.path, " ") .. "'") or ""
            M.usage_error("unknown flag '%s'%s", name, where)
          end
          if not flag.value then
            if inline then M.usage_error("%s takes no value (got '%s')", name, a) end
            r.opts[flag.key] = true
            return
          end
          local text = inline
          if not text then
            text = argv[i + 1]
            if text == nil then M.usage_error("%s needs a value (%s)", flag.name, flag.value) end
            if text:sub(1, 2) == "--" then
              M.usage_error(
                "%s needs a value (%s), not the flag '%s' (write %s=%s if you mean it)",
                flag.name,
                flag.value,
                text,
                flag.name,
                text
              )
            end
            i = i + 1
          end
          r.opts[flag.key] = KINDS[flag.kind or "string"](flag, text, r.opts[flag.key])
        end)
        if not ok then
          if not M.is_usage_error(e) then error(e, 0) end
          note(e)
        end
      end
    elseif r.node.commands then
      local child = r.node.commands[a]
      if child then
        r.node, r.path[#r.path + 1] = child, a
      else
        local where = #r.path > 0 and ("zavu " .. table.concat(r.path, " ")) or "zavu"
        note(select(2, pcall(M.usage_error, "unknown command '%s' for '%s'", a, where)))
      end
    else
      r.args[#r.args + 1] = a
    end
    i = i + 1
  end
  if problem and not r.help and not r.version then error(problem, 0) end
  return r
end

--- Check the words a command takes: node.args = { "ID", "SENDER" },
-- node.rest = true for "ID...", node.min (default #args), node.values (a
-- list: each word must be one of them).
function M.check_args(r)
  local node, args = r.node, r.args
  local min = node.min or #(node.args or {})
  if #args < min then M.usage_error("missing %s", node.args[#args + 1] or node.args[#node.args]) end
  if not node.rest and #args > #(node.args or {}) then
    M.usage_error("unexpected argument '%s'", args[#(node.args or {}) + 1])
  end
  for k, a in ipairs(args) do
    local name = node.args[math.min(k, #node.args)]
    if a == "" then M.usage_error("%s is empty", name) end
    if type(node.values) == "table" then KINDS.choice({ name = name, choices = node.values }, a) end
  end
end

return M
