-- zavu.cli.completion: `zavu completion bash|zsh|fish` - the shell
-- completion scripts, made from the command table (zavu.cli.commands) each
-- time they are printed, so that a command or flag added there completes
-- with no other edit. Each script is the table's words as shell functions
-- (the commands under each command, the flags of each, what follows each
-- flag) and a fixed walker that reads the line as zavu.cli.args does: flags
-- anywhere before "--", a flag's value after it or after "=".
local commands = require "zavu.cli.commands"

local M = {}

-- Flags that zavu.cli.args reads itself, besides the table's common ones.
local HELP = { name = "--help", short = "-h", help = "this help" }
local VERSION = { name = "--version", help = "print the version" }

-- Every command of the tree, parents first: { path = "sessions list", node = ... }.
local function all_commands()
  local out = {}
  local function walk(node, path)
    out[#out + 1] = { path = path, node = node }
    for _, w in ipairs(commands.words(node)) do
      walk(node.commands[w], path == "" and w or (path .. " " .. w))
    end
  end
  walk(commands.tree, "")
  return out
end

-- The flags a command takes, as the parser looks them up: its own, then
-- the common ones (and --version, offered at the top only).
local function flags_of(node, path)
  local list = {}
  for _, set in ipairs { node.flags or {}, commands.common, { HELP }, path == "" and { VERSION } or {} } do
    for _, f in ipairs(set) do
      list[#list + 1] = f
    end
  end
  return list
end

-- Whether flag f is one of node's own (not common to every command).
local function own(node, f)
  for _, g in ipairs(node.flags or {}) do
    if g == f then return true end
  end
  return false
end

-- What follows flag f: "none", "text", "file", "choice W..." or "list W..."
-- (comma-separated words).
local function follows(f)
  if not f.value then return "none" end
  if f.choices then return (f.kind == "list" and "list " or "choice ") .. table.concat(f.choices, " ") end
  if f.value == "FILE" then return "file" end
  return "text"
end

-- Every flag name of f: { "--verbose", "-v" }.
local function names(f) return f.short and { f.name, f.short } or { f.name } end

-- Sentence case, as the help prints a summary.
local function sentence(s) return s:sub(1, 1):upper() .. s:sub(2) end

-- A word for sh (bash, zsh) in single quotes.
local function sh(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- A word for fish in single quotes (\ and ' escaped).
local function fish(s) return "'" .. s:gsub("[\\']", "\\%0") .. "'" end

-- How bash and zsh differ in the functions below: bash answers in REPLY (a
-- blank-separated string of words), zsh in reply (an array of "word:what it
-- is" for _describe); the case arms are spelled "pat)" and "(pat)".
local BASH = {
  arm = function(pat, body) return ("    %s) %s ;;"):format(pat, body) end,
  set = function(words) return "REPLY=" .. sh(table.concat(words, " ")) end,
  entry = function(word) return word end,
}
local ZSH = {
  arm = function(pat, body) return ("    (%s) %s ;;"):format(pat, body) end,
  set = function(words) return "reply=(" .. table.concat(words, " ") .. ")" end,
  entry = function(word, what) return sh(word .. ":" .. what) end,
}

-- A shell function: a case over subject with arms { pattern, body } and a
-- last arm for anything else.
local function case_function(out, d, comment, name, subject, arms, default)
  out[#out + 1] = comment
  out[#out + 1] = name .. "() {"
  if name == "_zavu_args" then out[#out + 1] = "    local IFS=' '" end
  out[#out + 1] = "    case " .. subject .. " in"
  for _, a in ipairs(arms) do
    out[#out + 1] = d.arm(a[1], a[2])
  end
  if default then out[#out + 1] = d.arm("*", default) end
  out[#out + 1] = "    esac"
  out[#out + 1] = "}"
  out[#out + 1] = ""
end

-- The table's words as the bash or zsh functions the walker asks.
local function data_functions(out, d)
  local list = all_commands()
  local none = d.set {}
  local under, flags, follow, args = {}, {}, {}, {}
  local common = {}
  for _, c in ipairs(list) do
    local node = c.node
    if node.commands then
      local words = {}
      for _, w in ipairs(commands.words(node)) do
        words[#words + 1] = d.entry(w, sentence(node.commands[w].summary))
      end
      under[#under + 1] = { sh(c.path), d.set(words) }
    end
    local words = {}
    for _, f in ipairs(flags_of(node, c.path)) do
      local pats = {}
      for _, n in ipairs(names(f)) do
        words[#words + 1] = d.entry(n, f.help)
        pats[#pats + 1] = sh(c.path .. "|" .. n)
      end
      if own(node, f) then
        follow[#follow + 1] = { table.concat(pats, "|"), "REPLY=" .. sh(follows(f)) }
      elseif not common[f] then
        common[f], common[#common + 1] = true, f
      end
    end
    flags[#flags + 1] = { sh(c.path), d.set(words) }
    if node.leaf and node.args then
      local body = none -- ids and the like: nothing to offer
      if node.values == "commands" then
        body = '_zavu_commands "${*:2}" || ' .. none
      elseif type(node.values) == "table" then
        body = node.rest and d.set(node.values)
          or ("(($# <= %d)) && %s || %s"):format(#node.args, d.set(node.values), none)
      end
      args[#args + 1] = { sh(c.path), body }
    end
  end
  for _, f in ipairs(common) do -- every command takes these
    local pats = {}
    for _, n in ipairs(names(f)) do
      pats[#pats + 1] = "*" .. sh("|" .. n)
    end
    follow[#follow + 1] = { table.concat(pats, "|"), "REPLY=" .. sh(follows(f)) }
  end
  case_function(
    out,
    d,
    "# The commands under a command (its path: its words joined by a blank).",
    "_zavu_commands",
    "$1",
    under,
    none .. "; return 1"
  )
  case_function(out, d, "# The flags of a command.", "_zavu_flags", "$1", flags)
  case_function(
    out,
    d,
    '# What follows flag $2 of command $1: none, text, file, "choice WORD..." or\n'
      .. '# "list WORD..." (comma-separated); status 1 for a flag the command lacks.',
    "_zavu_flag",
    '"$1|$2"',
    follow,
    "REPLY=none; return 1"
  )
  case_function(
    out,
    d,
    "# What the words of command $1 complete from, given the words it has so far\n"
      .. "# ($2...); status 1 for a command that takes no words.",
    "_zavu_args",
    "$1",
    args,
    "return 1"
  )
end

local BASH_WALK = [=[

# Complete the word under the cursor of a zavu command line.
_zavu() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmdpath= word pending= flag= prefix= REPLY
    local -i i ended=0
    local -a args=()
    # The words before the cursor: the command they reach, its words, and
    # whether the last is a flag whose value comes next.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ -n $pending ]]; then # the flag's value, or the "=" bash split off before it
            [[ $word == = ]] || pending=
            continue
        fi
        if ((!ended)) && [[ $word == -- ]]; then
            ended=1
        elif ((!ended)) && [[ $word == -?* ]]; then
            if [[ $word != *=* ]] && _zavu_flag "$cmdpath" "$word" && [[ $REPLY != none ]]; then
                pending=$word
            fi
        elif [[ $word == = ]]; then # after a flag the command lacks
            pending==
        elif _zavu_commands "$cmdpath" && [[ " $REPLY " == *" $word "* ]]; then
            cmdpath=${cmdpath:+$cmdpath }$word
        else
            args+=("$word")
        fi
    done
    COMPREPLY=()
    if [[ -n $pending ]]; then
        flag=$pending
        [[ $cur == = ]] && cur=
    elif ((!ended)) && [[ $cur == -*=* ]]; then # --flag=VALUE in one word
        flag=${cur%%=*} prefix=${cur%%=*}= cur=${cur#*=}
    fi
    if [[ -n $flag ]]; then
        _zavu_flag "$cmdpath" "$flag" || return 0
        case $REPLY in
        file)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -P "$prefix" -f -- "$cur")
            ;;
        choice\ *) mapfile -t COMPREPLY < <(compgen -P "$prefix" -W "${REPLY#* }" -- "$cur") ;;
        list\ *)
            [[ $cur == *,* ]] && prefix=$prefix${cur%,*},
            mapfile -t COMPREPLY < <(compgen -P "$prefix" -W "${REPLY#* }" -- "${cur##*,}")
            ;;
        esac
        return 0
    fi
    if ((!ended)) && [[ $cur == -* ]]; then
        _zavu_flags "$cmdpath"
    elif _zavu_commands "$cmdpath"; then
        :
    elif ! _zavu_args "$cmdpath" "${args[@]}"; then
        ((ended)) && return 0
        _zavu_flags "$cmdpath" # a command that takes no words: its flags
    fi
    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
}

complete -F _zavu zavu
]=]

local ZSH_WALK = [=[

# Complete the word under the cursor of a zavu command line.
_zavu() {
    local cmdpath= word pending= flag= entry found REPLY
    local -i i ended=0
    local -a reply args
    # The words before the cursor: the command they reach, its words, and
    # whether the last is a flag whose value comes next.
    for ((i = 2; i < CURRENT; i++)); do
        word=${words[i]}
        if [[ -n $pending ]]; then
            pending=
            continue
        fi
        if ((!ended)) && [[ $word == -- ]]; then
            ended=1
        elif ((!ended)) && [[ $word == -?* ]]; then
            if [[ $word != *=* ]] && _zavu_flag "$cmdpath" "$word" && [[ $REPLY != none ]]; then
                pending=$word
            fi
        else
            found=
            if _zavu_commands "$cmdpath"; then
                for entry in "${reply[@]}"; do
                    [[ ${entry%%:*} == "$word" ]] && found=1
                done
            fi
            if [[ -n $found ]]; then
                cmdpath=${cmdpath:+$cmdpath }$word
            else
                args+=("$word")
            fi
        fi
    done
    if [[ -n $pending ]]; then
        flag=$pending
    elif ((!ended)) && [[ $PREFIX == -*=* ]]; then # --flag=VALUE
        flag=${PREFIX%%=*}
        compset -P '*='
    fi
    if [[ -n $flag ]]; then
        _zavu_flag "$cmdpath" "$flag" || return 1
        case $REPLY in
        (file) _files ;;
        (choice\ *) compadd -- ${=REPLY#* } ;;
        (list\ *)
            compset -P '*,'
            compadd -- ${=REPLY#* }
            ;;
        esac
        return 0
    fi
    if ((!ended)) && [[ $PREFIX == -* ]]; then
        _zavu_flags "$cmdpath"
        _describe -t options 'zavu flag' reply
    elif _zavu_commands "$cmdpath"; then
        _describe -t commands 'zavu command' reply
    elif _zavu_args "$cmdpath" "${args[@]}"; then
        ((${#reply})) && _describe -t values 'value' reply
    elif ((!ended)); then
        _zavu_flags "$cmdpath" # a command that takes no words: its flags
        _describe -t options 'zavu flag' reply
    fi
    return 0
}

# Loaded from a file named _zavu on $fpath: complete; sourced or eval'ed:
# tell compinit which command this is for.
if [[ $funcstack[1] == _zavu ]]; then
    _zavu "$@"
else
    compdef _zavu zavu
fi
]=]

local HOW = {
  bash = {
    "# Load it from ~/.bashrc:",
    '#     eval "$(zavu completion bash)"',
    "# or, with the bash-completion package, save it once (again after an upgrade):",
    "#     zavu completion bash > ~/.local/share/bash-completion/completions/zavu",
  },
  zsh = {
    "# Load it from ~/.zshrc, after compinit:",
    '#     eval "$(zavu completion zsh)"',
    "# or save it as _zavu in a directory of $fpath (again after an upgrade).",
  },
  fish = {
    "# Load it from ~/.config/fish/config.fish:",
    "#     zavu completion fish | source",
    "# or save it once (again after an upgrade):",
    "#     zavu completion fish > ~/.config/fish/completions/zavu.fish",
  },
}

local function header(shell, first)
  local out = first and { first } or {}
  out[#out + 1] = ("# %s completion for zavu, printed by `zavu completion %s` from the command's"):format(shell, shell)
  out[#out + 1] = "# own table: the commands and flags of the zavu that printed it."
  for _, l in ipairs(HOW[shell]) do
    out[#out + 1] = l
  end
  out[#out + 1] = ""
  return out
end

local function bash()
  local out = header "bash"
  data_functions(out, BASH)
  return table.concat(out, "\n") .. BASH_WALK
end

local function zsh()
  local out = header("zsh", "#compdef zavu")
  data_functions(out, ZSH)
  return table.concat(out, "\n") .. ZSH_WALK
end

local FISH_WALK = [=[
# The command the words before the cursor reach ($__zavu_path) and its words
# ($__zavu_args), read as zavu reads them: flags anywhere before --.
function __zavu_walk
    set -g __zavu_path ''
    set -g __zavu_args
    set -l pending 0
    set -l ended 0
    for word in (commandline -opc)[2..-1]
        if test $pending = 1
            set pending 0
        else if test $ended = 0; and test "$word" = --
            set ended 1
        else if test $ended = 0; and string match -q -- '-?*' $word
            if not string match -q -- '*=*' $word; and test (__zavu_flag "$__zavu_path" $word) != none
                set pending 1
            end
        else if contains -- $word (__zavu_commands "$__zavu_path")
            set __zavu_path (string trim -- "$__zavu_path $word")
        else
            set -a __zavu_args $word
        end
    end
end

# Whether the words before the cursor reach command $argv[1] and it has
# fewer than $argv[2] words (when given).
function __zavu_at
    __zavu_walk
    test "$__zavu_path" = "$argv[1]"; or return 1
    test (count $argv) -lt 2; or test (count $__zavu_args) -lt $argv[2]
end

# The commands under the words typed after `zavu help`.
function __zavu_help_words
    __zavu_walk
    __zavu_commands (string join ' ' -- $__zavu_args)
end

]=]

local function fish_script()
  local out = header "fish"
  local list = all_commands()
  out[#out + 1] = "# The commands under a command (its path: its words joined by a blank)."
  out[#out + 1] = "function __zavu_commands --argument-names cmdpath"
  out[#out + 1] = '    switch "$cmdpath"'
  for _, c in ipairs(list) do
    if c.node.commands then
      out[#out + 1] = "        case " .. fish(c.path)
      out[#out + 1] = "            printf '%s\\n' " .. table.concat(commands.words(c.node), " ")
    end
  end
  out[#out + 1] = "        case '*'"
  out[#out + 1] = "            return 1"
  out[#out + 1] = "    end"
  out[#out + 1] = "end"
  out[#out + 1] = ""
  out[#out + 1] = "# What follows flag $argv[2] of command $argv[1]: none when nothing does."
  out[#out + 1] = "function __zavu_flag"
  out[#out + 1] = '    switch "$argv[1]|$argv[2]"'
  local rules, common = {}, {}
  -- One complete rule for flag f (of the command at path, or of every one).
  local function flag_rule(f, cond)
    local r = { "complete -c zavu" }
    if cond then r[#r + 1] = "-n " .. fish(cond) end
    r[#r + 1] = "-l " .. f.name:sub(3)
    if f.short then r[#r + 1] = "-s " .. f.short:sub(2) end
    local what = follows(f)
    if what == "file" then
      r[#r + 1] = "-r -F"
    elseif what ~= "none" then
      r[#r + 1] = "-x"
      if f.choices then r[#r + 1] = "-a " .. fish(table.concat(f.choices, " ")) end
    end
    r[#r + 1] = "-d " .. fish(f.help)
    rules[#rules + 1] = table.concat(r, " ")
  end
  for _, c in ipairs(list) do
    local at = "__zavu_at " .. fish(c.path)
    for _, f in ipairs(flags_of(c.node, c.path)) do
      if own(c.node, f) or f == VERSION then
        local pats = {}
        for _, n in ipairs(names(f)) do
          pats[#pats + 1] = fish(c.path .. "|" .. n)
        end
        out[#out + 1] = "        case " .. table.concat(pats, " ")
        out[#out + 1] = "            echo " .. fish(follows(f))
        flag_rule(f, at)
      elseif not common[f] then
        common[f], common[#common + 1] = true, f
      end
    end
    for _, w in ipairs(commands.words(c.node)) do
      rules[#rules + 1] = ("complete -c zavu -n %s -a %s -d %s"):format(
        fish(at),
        fish(w),
        fish(sentence(c.node.commands[w].summary))
      )
    end
    local node = c.node
    if node.leaf and node.values == "commands" then
      rules[#rules + 1] = ("complete -c zavu -n %s -a '(__zavu_help_words)'"):format(fish(at))
    elseif node.leaf and type(node.values) == "table" then
      local cond = node.rest and at or (at .. " " .. #node.args)
      rules[#rules + 1] = ("complete -c zavu -n %s -a %s"):format(fish(cond), fish(table.concat(node.values, " ")))
    end
  end
  for _, f in ipairs(common) do
    local pats = {}
    for _, n in ipairs(names(f)) do
      pats[#pats + 1] = fish("*|" .. n)
    end
    out[#out + 1] = "        case " .. table.concat(pats, " ")
    out[#out + 1] = "            echo " .. fish(follows(f))
    flag_rule(f)
  end
  out[#out + 1] = "        case '*'"
  out[#out + 1] = "            echo none"
  out[#out + 1] = "            return 1"
  out[#out + 1] = "    end"
  out[#out + 1] = "end"
  out[#out + 1] = ""
  out[#out + 1] = FISH_WALK
  out[#out + 1] = "complete -c zavu -e # the rules of an older script go"
  out[#out + 1] = "complete -c zavu -f # no file names, but after a flag that takes one"
  for _, r in ipairs(rules) do
    out[#out + 1] = r
  end
  return table.concat(out, "\n") .. "\n"
end

M.SHELLS = { bash = bash, zsh = zsh, fish = fish_script }

--- The completion script for shell ("bash", "zsh" or "fish").
function M.script(shell) return assert(M.SHELLS[shell], "no such shell")() end

return M
