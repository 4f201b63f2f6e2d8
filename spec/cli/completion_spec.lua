-- zavu completion bash|zsh|fish: each script, as the command prints it,
-- loaded into the real shell and asked what it completes (bash: its _zavu
-- function; zsh: a Tab typed into an interactive zsh with compinit; fish:
-- complete -C). What is expected is read from the command table, so that a
-- command or flag added there is checked with no edit here.
local H = require "spec.helper"
local S = require "spec.cli.support"
local commands = require "zavu.cli.commands"

local function script(shell)
  local out, err, status = S.run("completion " .. shell, { ZAVUDEV_API_KEY = "" })
  assert.are.equal(0, status, err)
  assert.are.equal("", err)
  return out
end

-- The output of a run split into one sorted list of words per line asked.
local function groups(out)
  local list, cur = {}, {}
  for line in out:gmatch("([^\n]*)\n") do
    if line == "<end>" then
      table.sort(cur)
      list[#list + 1], cur = cur, {}
    elseif line ~= "" then
      cur[#cur + 1] = line:match("^[^\t]*") -- fish: "word<Tab>what it is"
    end
  end
  return list
end

local function run(cmd, lines)
  local out, err, status = H.sh(cmd)
  assert.are.equal(0, status, err)
  local got = groups(out)
  assert.are.equal(#lines, #got, out .. err)
  return got
end

-- Each shell: what it offers for each line (the cursor at its end; words
-- split at blanks, so "--status = re" is bash's own split of --status=re).
local complete = {}

function complete.bash(text, lines)
  local driver = { "source " .. S.q(H.write_tmp(text)), "complete -p zavu >/dev/null || exit 3" }
  driver[#driver + 1] = [[t() {
    COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMP_LINE="$*" COMPREPLY=()
    COMP_POINT=${#COMP_LINE}
    _zavu
    printf '%s\n' "${COMPREPLY[@]}" '<end>'
}]]
  for _, line in ipairs(lines) do
    local words = {}
    for w in (line .. " "):gmatch("([^ ]*) ") do
      words[#words + 1] = S.q(w)
    end
    if line:sub(-1) == " " then words[#words] = "''" end
    driver[#driver + 1] = "t " .. table.concat(words, " ")
  end
  return run("bash --norc --noprofile " .. H.write_tmp(table.concat(driver, "\n") .. "\n"), lines)
end

function complete.zsh(text, lines)
  local file = H.write_tmp(text)
  local quoted = {}
  for i, l in ipairs(lines) do
    quoted[i] = S.q(l)
  end
  local driver = H.root .. "/spec/cli/complete.zsh"
  return run(("timeout 50 zsh -f %s %s %s"):format(driver, file, table.concat(quoted, " ")), lines)
end

function complete.fish(text, lines)
  local driver = H.write_tmp("source " .. S.q(H.write_tmp(text)) .. [[

for line in $argv
    complete -C "$line"
    echo '<end>'
end
]])
  local quoted = {}
  for i, l in ipairs(lines) do
    quoted[i] = S.q(l)
  end
  return run("fish --no-config " .. driver .. " " .. table.concat(quoted, " "), lines)
end

local function sorted(list)
  local copy = {}
  for i, v in ipairs(list) do
    copy[i] = v
  end
  table.sort(copy)
  return copy
end

-- Every command of the table: { words = { "sessions", "list" }, node = ... }.
local function all_commands(node, words, out)
  out = out or {}
  out[#out + 1] = { words = words, node = node }
  for _, w in ipairs(commands.words(node)) do
    local sub = { (table.unpack or unpack)(words) }
    sub[#sub + 1] = w
    all_commands(node.commands[w], sub, out)
  end
  return out
end

-- The long flags a command takes, as the parser reads them.
local function long_flags(c)
  local list = { "--help" }
  for _, set in ipairs { c.node.flags or {}, commands.common } do
    for _, f in ipairs(set) do
      list[#list + 1] = f.name
    end
  end
  if #c.words == 0 then list[#list + 1] = "--version" end
  return sorted(list)
end

-- Lines (and what each must complete to) made from the table: the words
-- under each command, the flags of each, the choices of each flag's value,
-- the words of each command that has a list of them.
local function from_table(tree)
  local lines, want = {}, {}
  local function ask(line, words)
    lines[#lines + 1], want[#want + 1] = line, sorted(words)
  end
  for _, c in ipairs(all_commands(tree, {})) do
    local at = table.concat({ "zavu", (table.unpack or unpack)(c.words) }, " ")
    if c.node.commands then ask(at .. " ", commands.words(c.node)) end
    ask(at .. " --", long_flags(c))
    for _, f in ipairs(c.node.flags or {}) do
      if f.choices then ask(at .. " " .. f.name .. " ", f.choices) end
    end
    if type(c.node.values) == "table" then ask(at .. " ", c.node.values) end
  end
  return lines, want
end

-- --flag=VALUE and comma lists, as each shell hands them over.
local SHELL_CASES = {
  bash = { -- bash splits "--status=re" at the = (COMP_WORDBREAKS), unless told not to
    { "zavu sessions list --status = re", { "ready" } },
    { "zavu sessions list --status=re", { "--status=ready" } },
    { "zavu sessions list --status ready,q", { "ready,qr_ready" } },
  },
  zsh = {
    { "zavu sessions list --status=re", { "ready" } },
    { "zavu sessions list --status ready,q", { "qr_ready" } },
  },
  fish = { { "zavu sessions list --status=re", { "--status=ready" } } },
}

for _, shell in ipairs { "bash", "zsh", "fish" } do
  describe("zavu completion " .. shell, function()
    it("completes every command, flag and choice of the command table", function()
      local lines, want = from_table(commands.tree)
      local got = complete[shell](script(shell), lines)
      for i, line in ipairs(lines) do
        assert.are.same(want[i], got[i], line)
      end
    end)

    it("reads the line as zavu does: flag values skipped, --, --flag=VALUE, help's words", function()
      local dir = H.write_tmp ""
      os.remove(dir)
      assert(os.execute("mkdir -p " .. dir .. " && touch " .. dir .. "/ids.txt " .. dir .. "/idx.txt"))
      local cases = {
        { "zavu ses", { "sessions" } },
        { "zavu sessions --timeout 5 l", { "link", "list", "logout" } },
        { "zavu sessions list --status r", { "ready" } },
        { "zavu sessions prune --status ready --older-than 7d --st", { "--status" } },
        { "zavu sessions get ", {} }, -- an id: nothing to offer
        { "zavu sessions delete -- --mi", {} }, -- after --, words are ids
        { "zavu completion bash ", {} },
        { "zavu help sessions p", { "prune" } },
        -- zsh's _files adds the names in the directory typed, the others whole paths
        {
          "zavu sessions delete --from-file " .. dir .. "/ids",
          { shell == "zsh" and "ids.txt" or (dir .. "/ids.txt") },
        },
      }
      for _, c in ipairs(SHELL_CASES[shell]) do
        cases[#cases + 1] = c
      end
      local lines = {}
      for i, c in ipairs(cases) do
        lines[i] = c[1]
      end
      local got = complete[shell](script(shell), lines)
      os.execute("rm -rf " .. dir)
      for i, c in ipairs(cases) do
        assert.are.same(sorted(c[2]), got[i], c[1])
      end
    end)

    it("completes a command added to the table with no other edit", function()
      local sessions = commands.tree.commands.sessions.commands
      local completion = require "zavu.cli.completion"
      sessions.frobnicate = {
        leaf = true,
        run = "sessions.frobnicate",
        usage = "[--wobble W]",
        summary = "a command of this spec only",
        flags = { { name = "--wobble", value = "W", kind = "choice", choices = { "left", "right" }, help = "x" } },
      }
      local ok, text = pcall(completion.script, shell)
      sessions.frobnicate = nil
      assert(ok, text)
      local got = complete[shell](text, {
        "zavu sessions fr",
        "zavu sessions frobnicate --wo",
        "zavu sessions frobnicate --wobble ",
      })
      assert.are.same({ "frobnicate" }, got[1])
      assert.are.same({ "--wobble" }, got[2])
      assert.are.same({ "left", "right" }, got[3])
    end)
  end)
end

describe("zavu completion", function()
  it("zsh: found as _zavu on $fpath too, as a completion file saved there", function()
    local dir = H.write_tmp ""
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local f = assert(io.open(dir .. "/_zavu", "w"))
    f:write(script "zsh")
    f:close()
    local driver = H.root .. "/spec/cli/complete.zsh"
    local got = run(("timeout 50 zsh -f %s %s 'zavu sessions l'"):format(driver, dir), { 1 })
    os.execute("rm -rf " .. dir)
    assert.are.same({ "link", "list", "logout" }, got[1])
  end)

  it("every script is valid for its shell (bash -n, zsh -n, fish -n)", function()
    for shell, check in pairs { bash = "bash -n", zsh = "zsh -n", fish = "fish --no-config -n" } do
      local _, err, status = H.sh(check .. " " .. H.write_tmp(script(shell)))
      assert.are.equal(0, status, shell .. ": " .. err)
    end
  end)

  it("needs no key and sends nothing; a shell it does not know is a usage error", function()
    for args, pattern in pairs {
      ["completion"] = "missing SHELL",
      ["completion tcsh"] = "bad value for SHELL: 'tcsh' (one of bash, zsh, fish expected)",
      ["completion bash zsh"] = "unexpected argument 'zsh'",
    } do
      local out, err, status = S.run(args, { ZAVUDEV_API_KEY = "" })
      assert.are.equal(2, status, args)
      assert.are.equal("", out)
      assert.matches(pattern, err, 1, true)
      assert.matches("Try 'zavu completion --help'.", err, 1, true)
    end
  end)
end)
